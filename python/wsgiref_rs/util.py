"""Miscellaneous WSGI-related Utilities

The same API as the standard library's ``wsgiref.util``, implemented in Rust
(``wsgiref_rs._native``).
"""

from wsgiref_rs._native import (
    FileWrapper,
    application_uri,
    guess_scheme,
    request_uri,
    setup_testing_defaults,
    shift_path_info,
)

# Public in the stdlib's module too, though its __all__ does not list it.
from wsgiref_rs._native import is_hop_by_hop as is_hop_by_hop

__all__ = [
    'FileWrapper', 'guess_scheme', 'application_uri', 'request_uri',
    'shift_path_info', 'setup_testing_defaults',
]
