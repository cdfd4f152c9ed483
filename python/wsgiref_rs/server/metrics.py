"""Prometheus metrics of every worker (``--metrics-bind HOST:PORT``), served by the supervisor.

Each worker counts on the scoreboard it shares with the supervisor (``_native.Scoreboard(...,
metrics=True)``): its requests by method and status class, their durations, the bytes its
clients sent and were sent, the requests in flight, those queued for a worker thread and its open
connections. The engine writes those counts without the GIL and without a lock; the supervisor
reads them when it is scraped. When a worker exits, what it counted is added to the count of the
exited workers, so that every counter only goes up while workers come and go; the supervisor
counts the workers' starts and exits (by reason) itself.

:class:`MetricsServer` answers ``GET /metrics`` from a daemon thread of the supervisor, in the
text format 0.0.4; any other path is a 404.
"""

import http.server
import socket
import threading

from wsgiref_rs import _native
from wsgiref_rs.server.config import ConfigError
from wsgiref_rs.server.logs import server_logger

__all__ = ["CONTENT_TYPE", "EXIT_REASONS", "Metrics", "MetricsServer"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Why a worker exits: replaced for --timeout (or not serving in time), --max-requests or
# --max-rss; an old worker once a reload's new ones serve; one fewer (SIGTTOU); the server
# stopping; its application failing to load; anything else (it died: a crash, a kill from
# outside, an exit of its own).
EXIT_REASONS = ("timeout", "max_requests", "max_rss", "reload", "scale_down", "stop",
                "boot_error", "crash")
_COUNTERS = ("duration_sum", "received_bytes", "sent_bytes")


def _zero():
    return {"requests": {}, "duration_buckets": [0] * (len(_native.METRICS_BUCKETS) + 1),
            "duration_sum": 0.0, "received_bytes": 0, "sent_bytes": 0}


def _add(total, counts):
    for key, n in counts["requests"].items():
        total["requests"][key] = total["requests"].get(key, 0) + n
    total["duration_buckets"] = [a + b for a, b in zip(total["duration_buckets"],
                                                       counts["duration_buckets"])]
    for name in _COUNTERS:
        total[name] += counts[name]


class Metrics:
    """What the supervisor knows: its workers' scoreboards, what the exited ones counted, and
    the workers' starts and exits. Its methods may be called from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._boards = {}  # pid: its Scoreboard (None: a worker handed over by a reload)
        self._exited = _zero()
        self._starts = 0
        self._exits = dict.fromkeys(EXIT_REASONS, 0)

    def started(self, pid, board):
        """A worker was forked, counting on ``board``."""
        with self._lock:
            self._boards[pid] = board
            self._starts += 1

    def adopted(self, pid):
        """A worker of the previous supervisor, handed over by a reload: it has no board here."""
        with self._lock:
            self._boards[pid] = None

    def exited(self, pid, reason):
        """A worker exited: what it counted is kept."""
        with self._lock:
            if pid not in self._boards:
                return
            board = self._boards.pop(pid)
            if board is not None:
                _add(self._exited, board.metrics())
            self._exits[reason if reason in self._exits else "crash"] += 1

    def snapshot(self):
        """Every count now: the running workers' and the exited ones'."""
        with self._lock:
            total = _zero()
            _add(total, self._exited)
            gauges = {"in_flight": 0, "queued": 0, "open": 0}
            for board in self._boards.values():
                if board is None:
                    continue
                counts = board.metrics()
                _add(total, counts)
                for name in gauges:
                    gauges[name] += counts[name]
            total.update(gauges, workers=len(self._boards), starts=self._starts,
                         exits=dict(self._exits))
            return total

    def render(self):
        """The Prometheus text (format 0.0.4) of :meth:`snapshot`."""
        s = self.snapshot()
        out = []

        def family(name, kind, help_text, samples):
            out.append(f"# HELP wsgiref_rs_{name} {help_text}")
            out.append(f"# TYPE wsgiref_rs_{name} {kind}")
            for suffix, labels, value in samples:
                text = ",".join(f'{k}="{v}"' for k, v in labels)
                out.append(f"wsgiref_rs_{name}{suffix}{{{text}}} {value}" if text
                           else f"wsgiref_rs_{name}{suffix} {value}")

        family("requests_total", "counter",
               "Requests answered, by method (other: any not named) and status class.",
               [("", (("method", m), ("status", c)), n)
                for (m, c), n in sorted(s["requests"].items())])
        buckets, running = [], 0
        for bound, n in zip((*_native.METRICS_BUCKETS, "+Inf"), s["duration_buckets"]):
            running += n
            buckets.append(("_bucket", (("le", bound),), running))
        family("request_duration_seconds", "histogram",
               "Time from a request's head to the end of its response, as the engine made it.",
               [*buckets, ("_sum", (), repr(float(s["duration_sum"]))), ("_count", (), running)])
        family("requests_in_flight", "gauge", "Requests being served now.",
               [("", (), s["in_flight"])])
        family("connections_queued", "gauge",
               "Connections with a request waiting for a worker thread (--threads).",
               [("", (), s["queued"])])
        family("connections_open", "gauge", "Client connections open.", [("", (), s["open"])])
        family("received_bytes_total", "counter",
               "Bytes read from clients (request heads and bodies).",
               [("", (), s["received_bytes"])])
        family("sent_bytes_total", "counter",
               "Bytes written to clients (response heads and bodies, files included).",
               [("", (), s["sent_bytes"])])
        family("workers", "gauge", "Worker processes running.", [("", (), s["workers"])])
        family("worker_starts_total", "counter", "Worker processes started.",
               [("", (), s["starts"])])
        family("worker_exits_total", "counter", "Worker processes exited, by reason.",
               [("", (("reason", r),), n) for r, n in s["exits"].items()])
        return "\n".join(out) + "\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "wsgiref-rs-metrics"

    def do_GET(self):
        self._answer(head_only=False)

    def do_HEAD(self):
        self._answer(head_only=True)

    def _answer(self, head_only):
        if self.path.partition("?")[0] != "/metrics":
            body, status, kind = b"Not Found: the metrics are at /metrics\n", 404, "text/plain"
        else:
            try:
                body, status, kind = self.server.metrics.render().encode(), 200, CONTENT_TYPE
            except Exception:  # a bug of ours: the scrape fails, the supervisor goes on
                server_logger.exception("Could not render the metrics")
                body, status, kind = b"Internal Server Error\n", 500, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 (the stdlib's name)
        server_logger.debug("metrics: %s %s", self.address_string(), format % args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class MetricsServer:
    """``GET /metrics`` on ``(host, port)``; binds at once (ConfigError when it cannot), serves
    from a daemon thread once :meth:`start` is called."""

    def __init__(self, address, metrics=None):
        host, port = address
        cls = _HTTPServer6 if ":" in host else _HTTPServer
        try:
            self.httpd = cls((host, port), _Handler)
        except OSError as e:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise ConfigError(f"metrics_bind {shown}: {e.strerror or e}") from None
        self.httpd.metrics = metrics or Metrics()
        self.thread = None

    @property
    def metrics(self):
        return self.httpd.metrics

    @property
    def url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={
            "poll_interval": 0.25}, name="wsgiref-rs-metrics", daemon=True)
        self.thread.start()
        server_logger.info("Metrics at: %s", self.url)

    def close(self):
        if self.thread is not None:
            self.httpd.shutdown()
            self.thread.join()
            self.thread = None
        self.httpd.server_close()

    def close_in_child(self):
        """In a forked worker: its copy of the listening socket goes (the thread is not there)."""
        self.httpd.socket.close()
