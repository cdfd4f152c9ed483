"""The hand-written stubs of the native module match the built module (mypy's stubtest)."""

import subprocess
import sys


def test_native_stubs_match_the_built_module():
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "wsgiref_rs._native"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
