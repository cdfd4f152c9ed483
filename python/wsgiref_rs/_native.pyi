"""Type stubs for the native module ``wsgiref_rs._native``.

Checked against the built module by ``mypy.stubtest`` in the test suite.
"""

__all__ = [
    "__version__",
]
__version__: str

# --- util (src/util.rs) ---------------------------------------------------

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from typing_extensions import disjoint_base

@disjoint_base
class FileWrapper:
    filelike: Any
    blksize: Any
    close: Callable[[], object]  # present only when the filelike has a close()
    def __init__(self, filelike: Any, blksize: Any = 8192) -> None: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __next__(self) -> Any: ...
    def __getstate__(self) -> dict[str, Any]: ...
    def __setstate__(self, state: Mapping[str, Any]) -> None: ...

def guess_scheme(environ: Mapping[str, Any]) -> str: ...
def application_uri(environ: Mapping[str, Any]) -> str: ...
def request_uri(environ: Mapping[str, Any], include_query: object = True) -> str: ...
def shift_path_info(environ: MutableMapping[str, Any]) -> str | None: ...
def setup_testing_defaults(environ: MutableMapping[str, Any]) -> None: ...
def is_hop_by_hop(header_name: str) -> bool: ...

# --- end util ---------------------------------------------------------------



# --- headers (src/headers.rs) -----------------------------------------------


# --- end headers ------------------------------------------------------------
