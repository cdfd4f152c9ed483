"""The test suite's root: loading this file puts tests/ on sys.path (pytest's prepend import
mode), so the helper modules here (debian.py, ...) import from every subfolder's tests too."""

import signal
import sys

import pytest
from cli_support import Server, write_app

# Many tests stop a server they started with Ctrl-C (SIGINT). A process started in the background
# by a non-interactive shell (`cmd &`, some CI runners) inherits SIGINT ignored, and so would
# every server the tests start: Python installs its KeyboardInterrupt handler only where SIGINT is
# not ignored. Catch it here, as an interactive run does, so the servers inherit a SIGINT they
# can act on.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Comparisons with a standard-library module the running interpreter does not have.
collect_ignore = ["test_types_stdlib.py"] if sys.version_info < (3, 11) else []


@pytest.fixture
def app_dir(tmp_path):
    """A directory holding the wsgiref-rs command tests' application module (cli_support)."""
    write_app(tmp_path)
    return tmp_path


@pytest.fixture
def start(app_dir):
    """start(args...) -> a running `python -m wsgiref_rs` Server in the app's directory; all are
    stopped at the end."""
    servers = []

    def start(*args, **kwargs):
        server = Server(list(args), kwargs.pop("cwd", app_dir), **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
