"""The supervisor: worker processes that share the listening sockets, kept at the wanted count,
and the signals gunicorn users know.

=========  ====================================================================================
SIGTERM,   graceful stop: the workers stop accepting and finish what is in flight; the ones still
SIGINT     running after ``graceful_timeout`` (plus a second) are killed. A second signal kills
           them at once.
SIGHUP     graceful reload: new workers import the application afresh; once every one of them
           is serving, the old ones stop gracefully. If the new code fails to import, the old
           workers keep serving.
SIGTTIN    one worker more.
SIGTTOU    one worker fewer (never below one).
=========  ====================================================================================

A worker that dies is replaced (after a pause that grows while replacements die young). A worker
whose application fails to import at the first start ends the supervisor with that error; later,
the failure is logged and retried (with ``--reload``, once a file changes).

Workers are forked from the supervisor, which never imports the application itself: each worker
imports it after the fork, so a reload sees the code as it is on disk. A worker tells the
supervisor that it serves, or why it could not start, through a pipe.
"""

import collections
import os
import select
import signal
import sys
import time

from wsgiref_rs.server.app import AppImportError, load_app, module_of
from wsgiref_rs.server.logs import server_logger
from wsgiref_rs.server.reloader import SourceWatcher, watched_root
from wsgiref_rs.server.worker import Serving

__all__ = ["Supervisor"]

BOOT_ERROR = 3  # a worker's exit status when the application could not be loaded
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU,
            signal.SIGCHLD)
_KILL_MARGIN = 1.0  # seconds a worker gets beyond graceful_timeout to exit by itself
_RELOAD_POLL = 1.0
_LONGEST_PAUSE = 10.0


class _Worker:
    def __init__(self, pid, generation):
        self.pid = pid
        self.generation = generation
        self.started = time.monotonic()
        self.ready = False
        self.retiring = False
        self.boot_error = False


def _describe(status):
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervisor:
    """Runs ``config.workers`` worker processes on ``listeners`` until a stop signal."""

    def __init__(self, listeners, config, environ):
        self.listeners = listeners
        self.config = config
        self.environ = environ
        self.target = config.workers
        self.generation = 0
        self.workers = {}
        self.stopping = False
        self.deadline = None
        self.killed = False
        self.booted = False
        self.failure = None
        self.pause = 0.0
        self.spawn_after = 0.0
        self.waiting_for_change = False
        self.signals = collections.deque()
        self.watcher = None
        if config.reload:
            root = watched_root(module_of(config.app))
            self.watcher = SourceWatcher(root)
            server_logger.info("Reloading when a .py file under %s changes", root)
        self.next_scan = time.monotonic() + _RELOAD_POLL
        self._status = b""

    # -- the loop -----------------------------------------------------------------------------

    def run(self, announce=None):
        """Supervise until stopped; raise AppImportError if the application never started.
        ``announce()`` is called once the signals are handled."""
        self.wake_r, self.wake_w = os.pipe()
        self.status_r, self.status_w = os.pipe()
        for fd in (self.wake_r, self.wake_w, self.status_r):
            os.set_blocking(fd, False)
        saved = {signum: signal.signal(signum, self._on_signal) for signum in _SIGNALS}
        saved_wakeup = signal.set_wakeup_fd(self.wake_w)
        try:
            if announce is not None:
                announce()
            while True:
                self._handle_signals()
                self._read_status()
                self._reap()
                if self.stopping:
                    if not self.workers:
                        break
                    if not self.killed and time.monotonic() >= self.deadline:
                        self._kill_all("did not stop within the graceful timeout")
                else:
                    self._poll_sources()
                    self._manage()
                self._wait()
        finally:
            signal.set_wakeup_fd(saved_wakeup)
            for signum, handler in saved.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            if self.workers:
                self._kill_all("the supervisor is stopping")
                for pid in list(self.workers):
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
                self.workers.clear()
            for fd in (self.wake_r, self.wake_w, self.status_r, self.status_w):
                os.close(fd)
        if self.failure is not None:
            raise AppImportError(self.failure)
        server_logger.info("Stopped")

    def _on_signal(self, signum, frame):
        self.signals.append(signum)

    def _wait(self):
        timeout = 1.0
        now = time.monotonic()
        if self.stopping and not self.killed:
            timeout = min(timeout, max(0.0, self.deadline - now))
        elif self.spawn_after > now:
            timeout = min(timeout, self.spawn_after - now)
        readable, _, _ = select.select([self.wake_r, self.status_r], [], [], timeout)
        if self.wake_r in readable:
            try:
                while os.read(self.wake_r, 4096):
                    pass
            except BlockingIOError:
                pass

    def _handle_signals(self):
        while self.signals:
            signum = self.signals.popleft()
            name = signal.Signals(signum).name
            if signum in (signal.SIGTERM, signal.SIGINT):
                if self.stopping:
                    self._kill_all(f"{name} again")
                else:
                    server_logger.info("Stopping (%s): the workers finish the requests in "
                                       "flight (up to %gs)", name, self.config.graceful_timeout)
                    self._stop()
            elif self.stopping:
                continue
            elif signum == signal.SIGHUP:
                self._reload("SIGHUP")
            elif signum == signal.SIGTTIN:
                self.target += 1
                server_logger.info("SIGTTIN: %d workers", self.target)
            elif signum == signal.SIGTTOU and self.target > 1:
                self.target -= 1
                server_logger.info("SIGTTOU: %d workers", self.target)

    def _stop(self):
        self.stopping = True
        self.deadline = time.monotonic() + self.config.graceful_timeout + _KILL_MARGIN
        for worker in self.workers.values():
            self._retire(worker)

    def _kill_all(self, why):
        if self.workers:
            server_logger.warning("Killing %d worker(s): %s", len(self.workers), why)
        self.killed = True
        for pid in self.workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _retire(self, worker):
        worker.retiring = True
        try:
            os.kill(worker.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _reload(self, why):
        self.generation += 1
        self.waiting_for_change = False
        self.spawn_after = 0.0
        server_logger.info("Reloading (%s): starting %d new worker(s)", why, self.target)

    def _poll_sources(self):
        if self.watcher is None or time.monotonic() < self.next_scan:
            return
        self.next_scan = time.monotonic() + _RELOAD_POLL
        changed = self.watcher.changed()
        if changed is not None:
            self._reload(f"{changed} changed")

    def _manage(self):
        current = sorted((w for w in self.workers.values()
                          if w.generation == self.generation and not w.retiring),
                         key=lambda w: w.started)
        while len(current) > self.target:
            self._retire(current.pop(0))
        now = time.monotonic()
        if not self.waiting_for_change and now >= self.spawn_after:
            for _ in range(self.target - len(current)):
                current.append(self._spawn())
        old = [w for w in self.workers.values()
               if w.generation != self.generation and not w.retiring]
        if old and len(current) >= self.target and all(w.ready for w in current):
            server_logger.info("The new workers serve: stopping %d old one(s)", len(old))
            for worker in old:
                self._retire(worker)

    # -- what the workers say -----------------------------------------------------------------

    def _read_status(self):
        try:
            while True:
                chunk = os.read(self.status_r, 65536)
                if not chunk:
                    break
                self._status += chunk
        except BlockingIOError:
            pass
        *lines, self._status = self._status.split(b"\n")
        for line in lines:
            kind, _, rest = line.decode("utf-8", "replace").partition(" ")
            pid, _, message = rest.partition(" ")
            worker = self.workers.get(int(pid)) if pid.isdigit() else None
            if worker is None:
                continue
            if kind == "ready":
                worker.ready = True
                self.booted = True
                self.pause = 0.0
            elif kind == "error":
                worker.boot_error = True
                self._boot_failed(worker, message)

    def _boot_failed(self, worker, message):
        if self.stopping or worker.retiring:
            return
        serving = [w for w in self.workers.values()
                   if w.generation != worker.generation and not w.retiring]
        if serving:
            server_logger.error("Reload failed, the running workers stay: %s", message)
            for other in list(self.workers.values()):
                if other.generation == worker.generation:
                    self._retire(other)
            for other in serving:
                other.generation = self.generation
        elif not self.booted and not self.config.reload:
            self.failure = message
            self._stop()
        elif self.config.reload:
            server_logger.error("%s (waiting for a file to change)", message)
            self.waiting_for_change = True
            for other in list(self.workers.values()):
                if other.generation == worker.generation:
                    self._retire(other)
        else:
            server_logger.error(message)
            self._pause()

    def _pause(self):
        self.pause = min(_LONGEST_PAUSE, max(0.5, self.pause * 2))
        self.spawn_after = time.monotonic() + self.pause

    def _reap(self):
        # Each worker by its pid, never waitpid(-1): under serve() the process may have
        # children of its own, which are not ours to reap.
        for pid in list(self.workers):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 0
            if done == 0:
                continue
            worker = self.workers.pop(pid)
            if worker.retiring or self.stopping:
                server_logger.debug("Worker %d exited (%s)", pid, _describe(status))
            elif worker.boot_error or os.waitstatus_to_exitcode(status) == BOOT_ERROR:
                if not worker.boot_error:
                    self._boot_failed(worker, f"worker {pid} could not load the application")
            else:
                server_logger.warning("Worker %d died (%s): starting another", pid,
                                      _describe(status))
                if time.monotonic() - worker.started < 1.0:
                    self._pause()

    # -- a worker -----------------------------------------------------------------------------

    def _spawn(self):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._child()  # never returns
        worker = _Worker(pid, self.generation)
        self.workers[pid] = worker
        server_logger.info("Booting worker with pid: %d", pid)
        return worker

    def _child(self):
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for signum in _SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            os.close(self.wake_r)
            os.close(self.wake_w)
            os.close(self.status_r)
            code = self._work()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            server_logger.exception("Worker %d failed", os.getpid())
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _tell(self, line):
        data = line.replace("\n", " ").encode("utf-8", "replace")[:3800] + b"\n"
        os.write(self.status_w, data)  # one write under PIPE_BUF: never interleaved

    def _work(self):
        pid = os.getpid()
        serving = Serving(self.listeners, self.config, self.environ, supervised=True)
        serving.install_signals()
        try:
            app = load_app(self.config.app)
        except AppImportError as e:
            if e.details:
                server_logger.debug("%s", e.details)
            self._tell(f"error {pid} {e}")
            return BOOT_ERROR
        serving.run(app, on_ready=lambda: self._tell(f"ready {pid}"))
        return 0
