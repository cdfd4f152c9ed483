"""HTTP response headers: a drop-in replacement for the standard library's ``wsgiref.headers``.

``Headers`` is implemented in Rust (``wsgiref_rs._native``). It wraps the list of
``(name, value)`` tuples it is given, looks names up case-insensitively, keeps their order,
and refuses names and values that are not ``str`` or that hold control characters.
"""

import re

from wsgiref_rs._native import Headers

__all__ = ["Headers"]

# Characters that make a MIME parameter value need quoting; kept for code that imports it
# from the standard library's module (Headers itself always quotes parameter values).
tspecials = re.compile(r'[ \(\)<>@,;:\\"/\[\]\?=]')
