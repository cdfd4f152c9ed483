"""Miscellaneous WSGI-related Utilities

The same API as the standard library's ``wsgiref.util``, implemented in Rust
(``wsgiref_rs._native``).
"""

from wsgiref_rs import _versions
from wsgiref_rs._native import (
    FileWrapper,
    application_uri,
    guess_scheme,
    request_uri,
    setup_testing_defaults,
    shift_path_info,
)

# Public in the stdlib's module on every version; its __all__ lists it from Python 3.13 on.
from wsgiref_rs._native import is_hop_by_hop as is_hop_by_hop

__all__ = [
    'FileWrapper', 'guess_scheme', 'application_uri', 'request_uri',
    'shift_path_info', 'setup_testing_defaults',
]
if _versions.UTIL_ALL_HAS_IS_HOP_BY_HOP:
    __all__.append('is_hop_by_hop')
