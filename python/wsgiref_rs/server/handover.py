"""SIGHUP with ``--preload``: the supervisor executes itself afresh, in place.

A preloaded application lives in the supervisor, which forks every worker from it: new code
needs a new supervisor. gunicorn cannot reload with preload for that reason. Here the supervisor
executes its own command again (``execve``: same pid, so systemd and the pid file still know it,
and its workers are still its children), handing over in an environment variable what the new
program cannot find by itself: its listening sockets (inherited descriptors, never closed, so no
connection is refused meanwhile) and its workers, which go on serving. The new program imports
the application, forks new workers, and once they serve, stops the old ones gracefully. If the
new code fails to import, the old workers go on serving and the error is logged.

The stop signals and the supervisor's others are blocked across the ``execve`` (the mask is
inherited) and unblocked once the new supervisor handles them: none is lost or kills it meanwhile.
"""

import json
import os
import signal
import socket
import sys

__all__ = ["Handover", "check_command", "command", "execute_afresh", "take"]

ENV = "WSGIREF_RS_HANDOVER"

# The command that started this server, set by the command line; None: this program's own.
command = None
# Set by the command line: raises ConfigError if the settings the command would read now (its
# config file may have been edited since it started) would stop the new program; None: nothing
# to check (serve()'s keywords do not change).
check_command = None


class Handover:
    """What the previous supervisor left: listener specs and worker pids."""

    def __init__(self, listeners, workers, target):
        self.listeners = listeners  # [{"fd": N, "owned": bool, "unlink": [path, dev, ino]}]
        self.workers = workers
        self.target = target


def _argv():
    if command is not None:
        return list(command)
    orig = getattr(sys, "orig_argv", None)  # 3.10+: the interpreter's own command line
    if orig:
        return [sys.executable, *orig[1:]]
    return [sys.executable, *sys.argv]


def execute_afresh(listeners, worker_pids, target, signals):
    """Execute this server's command again with the same pid; returns only if that failed
    (with the OSError). ``signals`` are blocked until the new supervisor takes them."""
    specs = []
    for listener in listeners:
        os.set_inheritable(listener.fileno(), True)
        specs.append({"fd": listener.fileno(), "owned": listener.owned,
                      "unlink": list(listener.created_file) if listener.created_file else None})
    env = dict(os.environ)
    env[ENV] = json.dumps({"listeners": specs, "workers": sorted(worker_pids),
                           "target": target})
    argv = _argv()
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(argv[0], argv, env)
    except OSError:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
        raise


def take(environ=None):
    """The handover this program was started with (removed from the environment, so that
    the application and the workers do not see it), or None."""
    environ = os.environ if environ is None else environ
    text = environ.pop(ENV, None)
    if text is None:
        return None
    data = json.loads(text)
    return Handover(data["listeners"], data["workers"], data["target"])


def adopt(specs):
    """The Listeners the previous supervisor had, from their inherited descriptors."""
    from wsgiref_rs.server.sockets import Listener

    listeners = []
    for spec in specs:
        sock = socket.socket(fileno=spec["fd"])
        os.set_inheritable(sock.fileno(), False)
        unlink = tuple(spec["unlink"]) if spec["unlink"] else None
        listeners.append(Listener(sock, created_file=unlink, owned=spec["owned"]))
    return listeners
