"""Types for annotating WSGI (PEP 3333) code, with the names of Python 3.11's ``wsgiref.types``.

Usable for static checking and importable at run time on Python 3.9 and later (the standard
library has the module only from 3.11 on)::

    from wsgiref_rs.types import StartResponse, WSGIEnvironment

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]
"""

# Annotations stay strings, so the protocols below work on 3.9 (no `X | Y` evaluated there).
from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Optional, Protocol, Union

__all__ = [  # noqa: RUF022 (the standard library's order)
    "StartResponse",
    "WSGIEnvironment",
    "WSGIApplication",
    "InputStream",
    "ErrorStream",
    "FileWrapper",
]

if sys.version_info >= (3, 10):
    from typing import TypeAlias

    _ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType]
    _OptExcInfo: TypeAlias = _ExcInfo | tuple[None, None, None]
    WSGIEnvironment: TypeAlias = dict[str, Any]
else:  # Python 3.9: no typing.TypeAlias, no `|` between types at run time.
    _ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
    _OptExcInfo = Union[_ExcInfo, tuple[None, None, None]]
    WSGIEnvironment = dict[str, Any]


class StartResponse(Protocol):
    """The ``start_response`` callable that a server passes to an application (PEP 3333)."""

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: Optional[_OptExcInfo] = ...,  # noqa: UP045 (evaluable on 3.9)
        /,
    ) -> Callable[[bytes], object]: ...


if sys.version_info >= (3, 10):
    WSGIApplication: TypeAlias = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
else:
    WSGIApplication = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]


class InputStream(Protocol):
    """The ``wsgi.input`` stream of a WSGI environ (PEP 3333)."""

    def read(self, size: int = ..., /) -> bytes: ...
    def readline(self, size: int = ..., /) -> bytes: ...
    def readlines(self, hint: int = ..., /) -> list[bytes]: ...
    def __iter__(self) -> Iterator[bytes]: ...


class ErrorStream(Protocol):
    """The ``wsgi.errors`` stream of a WSGI environ (PEP 3333)."""

    def flush(self) -> object: ...
    def write(self, s: str, /) -> object: ...
    def writelines(self, seq: list[str], /) -> object: ...


class _Readable(Protocol):
    """What ``wsgi.file_wrapper`` needs of a file: ``read`` (``close`` is optional)."""

    def read(self, size: int = ..., /) -> bytes: ...


class FileWrapper(Protocol):
    """The ``wsgi.file_wrapper`` callable of a WSGI environ (PEP 3333)."""

    def __call__(self, file: _Readable, block_size: int = ..., /) -> Iterable[bytes]: ...
