"""Comparing logged tracebacks across the stdlib's wsgiref and ours.

The stdlib's handler steps are Python frames in wsgiref/; ours are native and leave no frames (or
one of the wsgiref_rs package). What must match is everything else: the header, the
application's frames, and the exception lines.
"""

import re

_LIBRARY_FILE = re.compile(r'^  File ".*[/\\]wsgiref(_rs)?[/\\][^"/\\]+\.py", line \d+, in ')


def without_library_frames(text: str) -> str:
    """`text` with each traceback frame from a wsgiref or wsgiref_rs module left out."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("  File "):
            skipping = bool(_LIBRARY_FILE.match(line))
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "".join(kept)
