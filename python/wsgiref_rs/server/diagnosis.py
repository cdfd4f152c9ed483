"""What the supervisor says of a worker that hangs (``--timeout``): the request, how long, and
where its application is stuck, as one record.

The stacks come from the worker itself: each worker has ``faulthandler`` write the stacks of all
its threads to a pipe on :data:`STACKS_SIGNAL`. ``faulthandler`` does so from a C signal handler,
without the GIL, so it answers even when the stuck thread holds the GIL in C code (a regular
expression that backtracks for ever, a C extension's loop), where a Python signal handler would
never run. The supervisor picks the hung thread's stack out of the dump and adds each frame's
source line, read from the file as Python's own tracebacks do.
"""

import linecache
import os
import re
import select
import signal
import time

__all__ = ["STACKS_SIGNAL", "Hung", "dump_stacks", "hung_record", "stacks_of"]

# The signal a worker dumps its threads' stacks on (faulthandler.register in the worker).
STACKS_SIGNAL = signal.SIGUSR2
_FIRST_BYTE_WAIT = 1.0  # how long a worker gets to start writing its stacks
_QUIET = 0.1  # the dump is over once nothing more came for this long

_THREAD = re.compile(r"^(?:Current thread|Thread) (0x[0-9a-fA-F]+)")
_FRAME = re.compile(r'^\s+File "(?P<file>.*)", line (?P<line>\d+) in (?P<name>.*)$')


class Hung:
    """A request over the timeout, as the scoreboard shows it."""

    def __init__(self, thread, stalled, running, request, peer):
        self.thread = thread
        self.stalled = stalled
        self.running = running
        self.request = request
        self.peer = peer


def dump_stacks(pid, stacks_fd):
    """Ask worker ``pid`` for its threads' stacks and read them from ``stacks_fd`` (the read
    end of its stacks pipe, non-blocking); "" when it wrote nothing in time."""
    try:
        while os.read(stacks_fd, 65536):  # anything left from an earlier dump
            pass
    except (BlockingIOError, OSError):
        pass
    try:
        os.kill(pid, STACKS_SIGNAL)
    except ProcessLookupError:
        return ""
    chunks = []
    deadline = time.monotonic() + _FIRST_BYTE_WAIT
    wait = _FIRST_BYTE_WAIT
    while True:
        readable, _, _ = select.select([stacks_fd], [], [], max(0.0, wait))
        if not readable:
            break
        try:
            chunk = os.read(stacks_fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        wait = _QUIET
        if time.monotonic() > deadline + 5.0:  # a dump that never ends: enough
            break
    return b"".join(chunks).decode("utf-8", "replace")


def stacks_of(dump):
    """{thread ident: [(file, line, function), ...] most recent call last} from a
    faulthandler dump."""
    stacks = {}
    frames = None
    for line in dump.splitlines():
        match = _THREAD.match(line)
        if match:
            frames = stacks.setdefault(int(match.group(1), 16), [])
            continue
        match = _FRAME.match(line)
        if match and frames is not None:
            frames.append((match["file"], int(match["line"]), match["name"]))
    return {thread: frames[::-1] for thread, frames in stacks.items()}


_WORKER_FILE = os.path.join("wsgiref_rs", "server", "worker.py")


def _application_part(frames):
    """The frames from the application's call on: on a worker without threads, the loop's
    thread shows the server's own frames (the supervisor, the fork, serve_forever) above it."""
    for i in range(len(frames) - 1, -1, -1):
        if frames[i][0].endswith(_WORKER_FILE):
            return frames[i + 1:] or frames
    return frames


def _format(frames):
    if frames:
        frames = _application_part(frames)
    if not frames:
        return ["  (no Python frame: the thread is outside Python code, or did not answer)"]
    lines = []
    for filename, lineno, name in frames:
        lines.append(f'  File "{filename}", line {lineno}, in {name}')
        source = linecache.getline(filename, lineno).strip()
        if source:
            lines.append(f"    {source}")
    return lines


def hung_record(pid, timeout, hung, loop_age, dump):
    """The ERROR record's message for worker ``pid``: each request in ``hung`` (a list of
    :class:`Hung`) with its thread's stack, or, when none is and the event loop has not gone
    round for ``loop_age`` seconds, every thread's stack."""
    linecache.checkcache()
    stacks = stacks_of(dump)
    lines = []
    if hung:
        for h in hung:
            lines.append(
                f"Worker {pid} timed out (timeout {timeout:g} s): {h.request} from {h.peer} "
                f"made no progress for {h.stalled:.1f} s ({h.running:.1f} s since it began); "
                f"its thread's stack, most recent call last:"
            )
            lines += _format(stacks.get(h.thread))
    else:
        lines.append(
            f"Worker {pid} timed out (timeout {timeout:g} s): its event loop has not answered "
            f"for {loop_age:.1f} s; the stacks of its threads, most recent call last:"
        )
        for thread, frames in stacks.items():
            lines.append(f" Thread {thread:#x}:")
            lines += _format(frames)
        if not stacks:
            lines += _format(None)
    lines.append("A new worker takes its place.")
    return "\n".join(lines)
