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

Workers are forked from the supervisor, which does not import the application itself unless
``--preload`` says so: each worker imports it after the fork, so a reload sees the code as it is
on disk. With ``--preload`` the supervisor imports it once and freezes the garbage collector's
view of it (``gc.freeze()``) before each fork, so that the workers share its memory; SIGHUP then
executes the supervisor afresh, in place (see ``handover``). A worker tells the supervisor that it
serves, or why it could not start, through a pipe.

The supervisor watches each worker through a scoreboard they share (``_native.Scoreboard``: the
worker's heartbeat, its requests, and what each of its application threads is on), so that a
stuck worker, which could not answer a question, need not be asked one:

* ``timeout``: a request whose application has made no progress for that long, or a worker whose
  event loop has stopped going round, is reported in one ERROR record with the request and the
  stack of its thread (see ``diagnosis``), and the worker is replaced: a new one is started, and
  once it serves the stuck one is killed (one whose other threads may still be answering gets
  SIGTERM and the graceful timeout first).
* ``max_requests`` (plus a random 0..``max_requests_jitter`` per worker) and ``max_rss``: a worker
  that has served that many requests, or grown that big, is replaced gracefully: its successor
  serves before it stops accepting, and it finishes what it has.

With ``metrics_bind``, the workers also count their requests on their scoreboards, and the
supervisor serves the sums at ``/metrics`` (see ``metrics``), with its own count of the workers'
starts and exits by reason.
"""

import collections
import contextlib
import fcntl
import gc
import os
import random
import select
import signal
import sys
import time

from wsgiref_rs import _native
from wsgiref_rs.server import diagnosis, handover
from wsgiref_rs.server.app import AppImportError, load_app, module_of
from wsgiref_rs.server.config import ConfigError
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
_WATCH_INTERVAL = 0.25  # how often the scoreboards are read
# How long a hung worker is left while its successor boots: then it goes without one.
_HUNG_WAIT = 10.0
MIB = 1024 * 1024
_F_SETPIPE_SZ = 1031  # Linux's fcntl (fcntl.F_SETPIPE_SZ from Python 3.10)


class _Worker:
    def __init__(self, pid, generation, board=None, stacks=None, max_requests=0):
        self.pid = pid
        self.generation = generation
        self.started = time.monotonic()
        self.ready = False
        self.retiring = False
        self.boot_error = False
        self.board = board  # its Scoreboard (None: not watched)
        self.stacks = stacks  # the read end of the pipe it writes its stacks to
        self.max_requests = max_requests  # with the jitter; 0: no limit
        # Why it is being replaced: it serves on until its successor does.
        self.replacing = None
        self.replace_by = None  # when it goes even without a successor (None: never)
        self.kill = False  # SIGKILL, not SIGTERM, when it goes (its loop is stuck)
        self.kill_at = None  # SIGKILL once retiring this long without exiting
        self.exit_reason = None  # why it was told to go (see metrics.EXIT_REASONS)


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

    def __init__(self, listeners, config, environ, app=None, handed=None, metrics_server=None):
        self.listeners = listeners
        # Serves /metrics from a thread of its own; None without metrics_bind.
        self.metrics_server = metrics_server
        self.metrics = metrics_server.metrics if metrics_server is not None else None
        self.config = config
        self.environ = environ
        # The application, imported here with preload (the workers inherit it); else None.
        self.app = app
        self.watching = bool(config.timeout or config.max_requests or config.max_rss)
        self.next_watch = 0.0
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
        if handed is not None:
            # The previous program's workers: they serve until this one's do.
            self.target = handed.target
            self.booted = True
            for pid in handed.workers:
                worker = _Worker(pid, generation=-1)
                worker.ready = True
                self.workers[pid] = worker
                if self.metrics is not None:
                    self.metrics.adopted(pid)
            server_logger.info("Reloaded: %d worker(s) of the previous program serve until new "
                               "ones do", len(handed.workers))

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
        # Blocked by a supervisor that executed this program afresh (see handover).
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
        try:
            if announce is not None:
                announce()
            if self.metrics_server is not None:
                self.metrics_server.start()
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
                    self._watch()
                    self._manage()
                    self._kill_late()
                self._wait()
        finally:
            signal.set_wakeup_fd(saved_wakeup)
            for signum, handler in saved.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            if self.workers:
                self._kill_all("the supervisor is stopping")
                for pid, worker in list(self.workers.items()):
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass
                    self._exited(worker, "stop")
                    self._forget(worker)
                self.workers.clear()
            if self.metrics_server is not None:
                self.metrics_server.close()
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
        if self.watching and not self.stopping:
            timeout = min(timeout, _WATCH_INTERVAL)
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
            self._retire(worker, reason="stop")
        # The workers stop accepting as they see their signal; the supervisor's own copy of the
        # sockets would keep completing connections nobody takes: refused from now on, so that
        # a load balancer sends them elsewhere at once.
        for listener in self.listeners:
            listener.stop_accepting()

    def _kill_all(self, why):
        if self.workers:
            server_logger.warning("Killing %d worker(s): %s", len(self.workers), why)
        self.killed = True
        for pid in self.workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _retire(self, worker, kill=False, reason=None):
        """Stop a worker: gracefully (SIGTERM; SIGKILL if it is still there after the graceful
        timeout), or at once; ``reason`` is what the metrics count its exit as."""
        worker.retiring = True
        if worker.exit_reason is None:
            worker.exit_reason = reason
        worker.kill_at = time.monotonic() + self.config.graceful_timeout + _KILL_MARGIN
        try:
            os.kill(worker.pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            pass

    def _kill_late(self):
        now = time.monotonic()
        for worker in self.workers.values():
            if worker.retiring and worker.kill_at is not None and now >= worker.kill_at:
                server_logger.warning("Killing worker %d: it did not stop within the graceful "
                                      "timeout", worker.pid)
                worker.kill_at = None
                try:
                    os.kill(worker.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # -- watching the workers ------------------------------------------------------------------

    def _watch(self):
        """Read the scoreboards: replace the workers that hang, or are due for recycling."""
        now = time.monotonic()
        if not self.watching or now < self.next_watch:
            return
        self.next_watch = now + _WATCH_INTERVAL
        for worker in list(self.workers.values()):
            if worker.retiring or worker.replacing or worker.board is None:
                continue
            if not worker.ready:
                if self.config.timeout and not worker.boot_error:
                    self._start_timed_out(worker, now)
                continue
            if self.config.timeout and self._timed_out(worker):
                continue
            served = worker.board.requests
            if worker.max_requests and served >= worker.max_requests:
                server_logger.info("Worker %d has served %d requests (max_requests %d): "
                                   "replacing it", worker.pid, served, worker.max_requests)
                self._replace(worker, "max_requests")
                continue
            if self.config.max_rss:
                rss = _native.resident_memory(worker.pid)
                if rss is not None and rss > self.config.max_rss * MIB:
                    server_logger.warning("Worker %d uses %.0f MiB of memory (max_rss %d): "
                                          "replacing it", worker.pid, rss / MIB,
                                          self.config.max_rss)
                    self._replace(worker, "max_rss")

    def _timed_out(self, worker):
        """Whether ``worker`` hangs; if so it is reported (one ERROR record) and replaced."""
        timeout = self.config.timeout
        busy = [diagnosis.Hung(*entry) for entry in worker.board.busy()]
        hung = [h for h in busy if h.stalled is not None and h.stalled > timeout]
        age = worker.board.heartbeat_age()
        # Without threads the loop's own thread runs the requests: while it is on one, the
        # request's progress is what counts.
        loop_on_request = self.config.threads == 0 and busy
        loop_stuck = age is not None and age > timeout and not loop_on_request
        if not hung and not loop_stuck:
            return False
        dump = diagnosis.dump_stacks(worker.pid, worker.stacks)
        server_logger.error("%s", diagnosis.hung_record(worker.pid, timeout, hung, age, dump))
        # Other threads may still be answering their requests: they get the graceful timeout,
        # unless the loop itself is stuck (or is the hung thread), which no signal reaches.
        self._replace(worker, "timeout", kill=loop_stuck or self.config.threads == 0,
                      wait=_HUNG_WAIT)
        return True

    def _start_timed_out(self, worker, now):
        """A worker that has not begun serving within the timeout (its application's import
        hangs, say) is reported with its stacks and killed; the next one comes after a pause."""
        age = now - worker.started
        if age <= self.config.timeout:
            return
        dump = diagnosis.dump_stacks(worker.pid, worker.stacks)
        server_logger.error("%s", diagnosis.hung_record(worker.pid, self.config.timeout, [],
                                                        age, dump, starting=True))
        self._retire(worker, kill=True, reason="timeout")
        self._pause()

    def _replace(self, worker, why, kill=False, wait=None):
        """Start a successor for ``worker``; it goes once the successor serves (see
        :meth:`_manage`), or after ``wait`` seconds without one."""
        worker.replacing = why
        worker.kill = kill
        worker.replace_by = None if wait is None else time.monotonic() + wait

    def _reload(self, why):
        if self.config.certfile is not None:
            # New workers read the TLS files again: a renewed certificate is served from them.
            try:
                self.config.check_tls()
            except ConfigError as e:
                server_logger.error("Not reloading (%s): the running workers serve on, with the "
                                    "TLS files read before: %s", why, e)
                return
        if self.config.preload:
            # Also when the last attempt failed to import (self.app is None): try again.
            self._execute_afresh(why)
        self.generation += 1
        self.waiting_for_change = False
        self.spawn_after = 0.0
        server_logger.info("Reloading (%s): starting %d new worker(s)", why, self.target)

    def _execute_afresh(self, why):
        """New code for a preloaded application: this program again, in place (returns only if
        that failed; the reload then forks new workers from the application already loaded)."""
        if handover.check_command is not None:
            try:
                handover.check_command()
            except ConfigError as e:
                # The program would exit at once, and the sockets and workers with it.
                server_logger.error("Not executing the supervisor afresh, its settings would not "
                                    "start: %s; new workers start from the application already "
                                    "loaded, with the settings already read", e)
                return
        server_logger.info("Reloading (%s): executing the supervisor afresh to import the "
                           "application again", why)
        signal.set_wakeup_fd(-1)
        try:
            handover.execute_afresh(self.listeners, list(self.workers), self.target, _SIGNALS)
        except OSError as e:
            signal.set_wakeup_fd(self.wake_w)
            server_logger.error("Could not execute the supervisor afresh (%s): new workers "
                                "start from the application already loaded", e)

    def _poll_sources(self):
        if self.watcher is None or time.monotonic() < self.next_scan:
            return
        self.next_scan = time.monotonic() + _RELOAD_POLL
        changed = self.watcher.changed()
        if changed is not None:
            self._reload(f"{changed} changed")

    def _manage(self):
        current = sorted((w for w in self.workers.values()
                          if w.generation == self.generation and not w.retiring
                          and not w.replacing),
                         key=lambda w: w.started)
        while len(current) > self.target:
            self._retire(current.pop(0), reason="scale_down")
        now = time.monotonic()
        if not self.waiting_for_change and now >= self.spawn_after:
            for _ in range(self.target - len(current)):
                current.append(self._spawn())
        old = [w for w in self.workers.values()
               if w.generation != self.generation and not w.retiring and not w.replacing]
        all_serve = len(current) >= self.target and all(w.ready for w in current)
        if old and all_serve:
            server_logger.info("The new workers serve: stopping %d old one(s)", len(old))
            for worker in old:
                self._retire(worker, reason="reload")
        for worker in list(self.workers.values()):
            if not worker.replacing or worker.retiring:
                continue
            if all_serve:
                server_logger.info("Worker %d's successor serves: %s worker %d (%s)",
                                   worker.pid, "killing" if worker.kill else "stopping",
                                   worker.pid, worker.replacing)
                self._retire(worker, kill=worker.kill, reason=worker.replacing)
            elif worker.replace_by is not None and now >= worker.replace_by:
                server_logger.warning("Killing worker %d (%s): its successor is not serving "
                                      "yet", worker.pid, worker.replacing)
                self._retire(worker, kill=True, reason=worker.replacing)

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
                    self._retire(other, reason="boot_error")
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
                    self._retire(other, reason="boot_error")
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
            self._exited(worker, self._exit_reason(worker, status))
            self._forget(worker)
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

    def _exit_reason(self, worker, status):
        if worker.exit_reason is not None:
            return worker.exit_reason
        if self.stopping:
            return "stop"
        if worker.boot_error or os.waitstatus_to_exitcode(status) == BOOT_ERROR:
            return "boot_error"
        return "crash"

    def _exited(self, worker, reason):
        """Counts a worker's exit, and keeps what it counted (its board goes with it)."""
        if self.metrics is not None:
            self.metrics.exited(worker.pid, reason)

    # -- a worker -----------------------------------------------------------------------------

    def _spawn(self):
        board = _native.Scoreboard(max(1, self.config.threads), metrics=self.metrics is not None)
        stacks_r, stacks_w = os.pipe()
        for fd in (stacks_r, stacks_w):
            # The worker's stacks are written from a signal handler: never block there.
            os.set_blocking(fd, False)
        if sys.platform == "linux":
            # Room for the stacks of many threads: what does not fit in the pipe is lost.
            with contextlib.suppress(OSError):
                fcntl.fcntl(stacks_w, _F_SETPIPE_SZ, 1 << 20)
        limit = self.config.max_requests
        if limit:
            limit += random.randint(0, self.config.max_requests_jitter)
        sys.stdout.flush()
        sys.stderr.flush()
        if self.app is not None:
            # What the application made so far is never collected again: a collection in a
            # worker would write to every object's header, copying the pages it shares.
            gc.freeze()
        try:
            pid = os.fork()
        except OSError:
            os.close(stacks_r)
            os.close(stacks_w)
            raise
        if pid == 0:
            os.close(stacks_r)
            self._child(board, stacks_w)  # never returns
        os.close(stacks_w)
        worker = _Worker(pid, self.generation, board, stacks_r, limit)
        self.workers[pid] = worker
        if self.metrics is not None:
            self.metrics.started(pid, board)
        server_logger.info("Booting worker with pid: %d", pid)
        return worker

    @staticmethod
    def _forget(worker):
        if worker.stacks is not None:
            os.close(worker.stacks)
            worker.stacks = None
        worker.board = None

    def _child(self, board, stacks_w):
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            for signum in _SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            os.close(self.wake_r)
            os.close(self.wake_w)
            os.close(self.status_r)
            if self.metrics_server is not None:
                # The supervisor's to serve; never touch its metrics here: a lock of theirs may
                # have been held by its thread at the fork.
                self.metrics_server.close_in_child()
            # The other workers' pipes and scoreboards are the supervisor's business.
            for other in self.workers.values():
                self._forget(other)
            self.workers.clear()
            code = self._work(board, stacks_w)
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

    def _work(self, board, stacks_w):
        pid = os.getpid()
        serving = Serving(self.listeners, self.config, self.environ, supervised=True,
                          scoreboard=board, stacks_fd=stacks_w)
        serving.install_signals()
        app = self.app
        if app is None:
            try:
                app = load_app(self.config.app)
            except AppImportError as e:
                if e.details:
                    server_logger.debug("%s", e.details)
                self._tell(f"error {pid} {e}")
                return BOOT_ERROR
        serving.run(app, on_ready=lambda: self._tell(f"ready {pid}"))
        return 0
