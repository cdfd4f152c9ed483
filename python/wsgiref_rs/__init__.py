"""wsgiref-rs: the standard library's wsgiref, in Rust, with a native HTTP/1.1 engine."""

from wsgiref_rs._native import __version__

__all__ = ["__version__"]
