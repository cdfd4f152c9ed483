"""A server from ``make_server`` serving in a thread, for every test that talks to one over a
socket: the engine's (tests/engine/, through its ``serve`` fixture), test_simple_server.py's (the
standard library's design) and the deployment tests'.

``start_server(app, ...)`` returns a :class:`Running`; used in a ``with`` statement it gives the
server itself, stopped and checked when the block ends.
"""

import threading
import time
import traceback

import wsgiref_rs.simple_server as ours

TIMEOUT = 10.0  # the longest any single client operation, or a stop, may take
HOST = "127.0.0.1"


class Running:
    """A server serving in a background thread (serve_forever), with its port and its errors."""

    def __init__(self, server, thread, errors):
        self.server = server
        self.thread = thread
        self.errors = errors
        self.port = server.server_port
        self.url = f"http://{HOST}:{self.port}"
        self.stopped = False

    def __enter__(self):
        return self.server

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=TIMEOUT):
        """shutdown() (from this thread, bounded), server_close(), join; raise what went wrong."""
        if self.stopped:
            return
        self.stopped = True
        problems = []
        stopper = threading.Thread(target=self.server.shutdown, daemon=True)
        started = time.monotonic()
        stopper.start()
        stopper.join(timeout)
        if stopper.is_alive():
            problems.append(f"shutdown() did not return within {timeout} s")
        self.server.server_close()
        self.thread.join(max(0.1, timeout - (time.monotonic() - started)))
        if self.thread.is_alive():
            problems.append("serve_forever() is still running after shutdown()")
        problems += [f"serve_forever() raised:\n{e}" for e in self.errors]
        if problems:
            raise AssertionError("\n".join(problems))


def start_server(app, server_class=None, handler_class=None, module=ours, poll_interval=0.05,
                 **attributes):
    """``module.make_server`` on 127.0.0.1 port 0, with ``attributes`` set on the server, and
    ``serve_forever`` in a daemon thread."""
    kwargs = {}
    if server_class is not None:
        kwargs["server_class"] = server_class
    if handler_class is not None:
        kwargs["handler_class"] = handler_class
    server = module.make_server(HOST, 0, app, **kwargs)
    for name, value in attributes.items():
        setattr(server, name, value)
    errors = []

    def run():
        try:
            if poll_interval is None:
                server.serve_forever()
            else:
                server.serve_forever(poll_interval=poll_interval)
        except BaseException:  # noqa: B036 - reported by Running.stop()
            errors.append(traceback.format_exc())

    thread = threading.Thread(target=run, name=f"serve_forever:{server.server_port}", daemon=True)
    thread.start()
    return Running(server, thread, errors)
