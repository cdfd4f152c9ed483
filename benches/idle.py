"""The idle scenario's client: opens N keep-alive connections to a server, sends one GET / on each
and reads its answer, then holds them open until told to stop.

    python benches/idle.py PORT N [BUDGET_SECONDS]

Connections open in batches (the listen backlog is finite); a batch that makes no progress for
5 s is given up on, and its unanswered connections count as failed (after two batches in a row
with no answer at all, or past the budget (120 s), so do the ones not yet tried). A connection
the server closes after its answer is closed here too, and is not held. On stdout it prints
`opened OK FAILED SECONDS` once all batches are done, then answers each `count` line on stdin with
the number of its connections the server still holds open; `quit` or end of input closes them all.
"""

import errno
import resource
import selectors
import socket
import sys
import time

__all__ = ["main"]

BATCH = 250
STALL = 5.0
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def answered(buf):
    """True once `buf` holds a whole response head and the body its Content-Length announces."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return len(buf) >= end + 4 + length


def open_batch(address, count):
    """Opens `count` connections with one request on each. Returns (held, answered, failed): the
    answered connections the server kept open, how many were answered, how many were not.

    A connection the server closes after its answer (HTTP/1.0, gunicorn's sync worker) is closed
    here too, as a client would: such servers linger until the client closes."""
    sel = selectors.DefaultSelector()
    failed = 0
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        err = s.connect_ex(address)
        if err not in (0, errno.EINPROGRESS):
            s.close()
            failed += 1
            continue
        sel.register(s, selectors.EVENT_WRITE, bytearray())
    pending = len(sel.get_map())
    held = set()
    last_progress = time.monotonic()

    def drop(s):
        sel.unregister(s)
        s.close()
        held.discard(s)

    while pending and time.monotonic() - last_progress < STALL:
        for key, events in sel.select(timeout=0.5):
            s, buf = key.fileobj, key.data
            try:
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect failed")
                    s.sendall(REQUEST)  # a few bytes into an empty socket buffer
                    sel.modify(s, selectors.EVENT_READ, buf)
                    continue
                data = s.recv(65536)
            except OSError:
                data = b""
            if buf is None:  # answered already: the server closed it (or sent more)
                if not data:
                    drop(s)
                continue
            if not data:
                drop(s)
                failed += 1
                pending -= 1
                continue
            buf += data
            if answered(buf):
                sel.modify(s, selectors.EVENT_READ, None)
                held.add(s)
                pending -= 1
                last_progress = time.monotonic()
    answered_count = count - failed - pending
    for key, _ in sel.select(timeout=0.05):  # a last look for closes right after an answer
        if key.data is None and not is_open(key.fileobj):
            drop(key.fileobj)
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        if key.data is not None:  # stalled: no answer within STALL seconds
            key.fileobj.close()
    sel.close()
    return list(held), answered_count, failed + pending


def is_open(s):
    """False once the server has closed `s` (EOF or reset); true while nothing, or data, waits."""
    try:
        return bool(s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except BlockingIOError:
        return True
    except OSError:
        return False


def still_open(sockets):
    """How many of `sockets` the server has not closed."""
    return sum(is_open(s) for s in sockets)


def main(port, total, budget):
    raise_fd_limit()
    address = ("127.0.0.1", port)
    held, answered_count, failed = [], 0, 0
    started = time.monotonic()
    empty = 0
    while answered_count + failed < total:
        if time.monotonic() - started > budget:  # the rest are not tried: too slow a server
            failed = total - answered_count
            break
        batch, ok, lost = open_batch(address, min(BATCH, total - answered_count - failed))
        held += batch
        answered_count += ok
        failed += lost
        empty = 0 if ok else empty + 1
        if empty == 2:  # the server takes no more: the rest would stall the same way
            failed = total - answered_count
    print(f"opened {answered_count} {failed} {time.monotonic() - started:.2f}", flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(still_open(held), flush=True)
        else:
            break
    for s in held:
        s.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 120.0)
