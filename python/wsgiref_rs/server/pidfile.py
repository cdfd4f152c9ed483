"""``--pid FILE``: the serving process's pid (the supervisor's, with workers), written once the
sockets listen and removed on exit."""

import contextlib
import os

__all__ = ["PidFileError", "pidfile"]


class PidFileError(OSError):
    """The pid file could not be written, with a one-line reason."""


@contextlib.contextmanager
def pidfile(path):
    """Write this process's pid to ``path`` (None: no file) for the duration of the block."""
    if path is None:
        yield
        return
    pid = str(os.getpid())
    temporary = f"{path}.{pid}.tmp"
    try:
        with open(temporary, "w") as f:
            f.write(pid + "\n")
        os.replace(temporary, path)  # readers never see a half-written file
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise PidFileError(f"cannot write the pid file {path}: {e.strerror or e}") from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            with open(path) as f:
                ours = f.read().strip() == pid
            if ours:
                os.unlink(path)
