"""Type stubs for the native module ``wsgiref_rs._native``.

Checked against the built module by ``mypy.stubtest`` in the test suite.
"""

__all__ = [
    "__version__",
]
__version__: str

# --- util (src/util.rs) ---------------------------------------------------


# --- end util ---------------------------------------------------------------



# --- headers (src/headers.rs) -----------------------------------------------


# --- end headers ------------------------------------------------------------
