"""The supervisor's watch over its workers, with real processes: a hung request diagnosed and its
worker replaced (``--timeout``), a stuck event loop (the heartbeat), recycling by requests
(``--max-requests``) and by memory (``--max-rss``), ``--preload`` with a reload, and a worker
whose threads are all busy leaving new connections to the others.

The application is lifecycle_app.py beside this file.
"""

import http.client
import os
import re
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import lifecycle_app
import pytest
from deploy_support import HERE, Load, deploy_env, is_gone, request, wait_until

APP = "lifecycle_app:app"
HANG_LINENO = next(
    n for n, line in enumerate(Path(lifecycle_app.__file__).read_text().splitlines(), 1)
    if line.strip() == lifecycle_app.HANG_LINE
)
TIMEOUT = 1.5


def errors(served):
    """The ERROR records the supervisor wrote, each with its continuation lines."""
    records, current = [], None
    for line in served.lines:
        if re.match(r"^\[\d+\] [A-Z]+ ", line):
            current = [line] if " ERROR " in line else None
            if current is not None:
                records.append(current)
        elif current is not None:
            current.append(line)
    return ["\n".join(r) for r in records]


class Hanging:
    """A request for /hang in a thread: how it ended, and when."""

    def __init__(self, address):
        self.outcome = None
        self.ended = None
        self.thread = threading.Thread(target=self._run, args=(address,), daemon=True)
        self.thread.start()

    def _run(self, address):
        conn = http.client.HTTPConnection(*address, timeout=60)
        try:
            conn.request("GET", "/hang?id=hung")
            response = conn.getresponse()
            self.outcome = response.status
            response.read()
        except (http.client.HTTPException, OSError) as e:
            self.outcome = type(e).__name__
        finally:
            self.ended = time.monotonic()
            conn.close()


@pytest.mark.parametrize("threads", ["0", "2"])
def test_a_hung_request_is_logged_with_its_stuck_line_and_its_worker_replaced(
    wsgiref_rs_cli, threads
):
    served = wsgiref_rs_cli("--timeout", str(TIMEOUT), "--threads", threads,
                            "--graceful-timeout", "2", app=APP, workers=1, cwd=HERE)
    [old] = served.wait_for_workers(1)
    hanging = Hanging(served.address)
    served.wait_for_line(r"ERROR .*timed out", timeout=TIMEOUT + 10)
    [new] = served.wait_for_workers(1, without={old})
    assert request(served.address).json["pid"] == new
    wait_until(lambda: hanging.ended is not None, 10, "the hung request's end", served.log)
    # Its connection is closed (the process that had it is gone), never left open.
    assert hanging.outcome in ("RemoteDisconnected", "ConnectionResetError", 500), hanging.outcome
    assert is_gone(old)
    [text] = errors(served)
    assert f"Worker {old} timed out (timeout {TIMEOUT:g} s): GET /hang?id=hung HTTP/1.1 from " \
           f"127.0.0.1:" in text, text
    assert re.search(r"made no progress for \d+\.\d s", text), text
    assert f'lifecycle_app.py", line {HANG_LINENO}, in app' in text, text
    assert f"    {lifecycle_app.HANG_LINE}" in text, text
    # Only the application's frames: not the supervisor's, which forked the worker.
    assert "supervisor.py" not in text, text


def test_other_workers_and_requests_that_make_progress_are_unaffected(wsgiref_rs_cli):
    served = wsgiref_rs_cli("--timeout", str(TIMEOUT), app=APP, workers=2, cwd=HERE)
    first = served.wait_for_workers(2)
    # A response that takes four timeouts but sends a chunk every half: never stalled. Its
    # worker's loop is on it (no threads), so the hung request goes to the other worker.
    streamed = {}

    def stream():
        streamed["body"] = request(served.address, "/stream?chunks=12&every=0.5",
                                   timeout=30).body

    streaming = threading.Thread(target=stream, daemon=True)
    streaming.start()
    time.sleep(0.3)
    Hanging(served.address)
    record = served.wait_for_line(r"ERROR .*timed out", timeout=TIMEOUT + 10)
    hung = int(re.search(r"Worker (\d+) timed out", record.group(0)).group(1))
    assert hung in first
    successor_serves = served.wait_for_line(rf"Worker {hung}'s successor serves: killing",
                                            timeout=15)
    wait_until(lambda: is_gone(hung), 10, f"worker {hung} gone", served.log)
    assert request(served.address).status == 200
    streaming.join(30)
    assert streamed["body"] == b"".join(f"chunk {i}\n".encode() for i in range(12))
    # The successor was booted, and serving, before the hung worker was killed.
    booted = [i for i, line in enumerate(served.lines) if "Booting worker with pid" in line]
    killed = next(i for i, line in enumerate(served.lines)
                  if successor_serves.group(0) in line)
    assert len(booted) == 3 and booted[-1] < killed
    assert len(errors(served)) == 1, errors(served)


def answered_by(served, pids):
    """Wait until each of these workers has answered a request (it serves: it is ready)."""
    seen = set()
    wait_until(lambda: seen.add(request(served.address).json["pid"]) or seen >= pids, 20,
               f"answers from {sorted(pids)}", served.log)


def test_a_worker_whose_loop_stops_answering_is_replaced(wsgiref_rs_cli):
    served = wsgiref_rs_cli("--timeout", str(TIMEOUT), app=APP, workers=2, cwd=HERE)
    first = served.wait_for_workers(2)
    answered_by(served, first)
    stopped = min(first)
    # SIGSTOP: the loop goes round no more (and no stack can be had from it).
    os.kill(stopped, signal.SIGSTOP)
    try:
        record = served.wait_for_line(rf"ERROR .*Worker {stopped} timed out", timeout=15)
        assert "its event loop has not answered for" in record.string
        served.wait_for_workers(2, without={stopped})
        wait_until(lambda: is_gone(stopped), 15, f"worker {stopped} gone", served.log)
    finally:
        if not is_gone(stopped):
            os.kill(stopped, signal.SIGCONT)


def test_a_worker_whose_import_hangs_is_reported_and_killed(wsgiref_rs_cli):
    served = wsgiref_rs_cli("--timeout", str(TIMEOUT), app=APP, workers=1, cwd=HERE,
                            env=deploy_env(LIFECYCLE_APP_HANG_AT_IMPORT=1))
    [first] = served.wait_for_workers(1)
    record = served.wait_for_line(rf"ERROR .*Worker {first} timed out", timeout=15)
    assert "has not begun serving (loading the application?) after" in record.string
    served.wait_for_line(re.escape(lifecycle_app.IMPORT_HANG_LINE), timeout=5)
    wait_until(lambda: is_gone(first), 10, f"worker {first} gone", served.log)
    # Another is tried, after a pause.
    served.wait_for_workers(1, without={first})


def test_max_requests_recycles_each_worker_after_its_share_with_no_request_lost(wsgiref_rs_cli):
    served = wsgiref_rs_cli("--max-requests", "20", "--max-requests-jitter", "5",
                            "--no-access-log", app=APP, workers=1, cwd=HERE)
    load = Load(served.address, threads=1, per_thread=160, pause=0.01).start()
    wait_until(lambda: len(load.outcomes) >= 160, 120, "160 requests", load.report)
    load.stop()
    assert not load.failures, load.report()
    answered = Counter(o.pid for o in load.outcomes)
    replaced = [
        (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        for m in (re.search(r"Worker (\d+) has served (\d+) requests \(max_requests (\d+)\)",
                            line) for line in served.lines) if m
    ]
    assert len(replaced) >= 2, served.log()
    for pid, served_count, limit in replaced:
        assert 20 <= limit <= 25
        assert served_count >= limit
        # It served its share, and none but the few in flight while its successor booted more.
        assert limit <= answered[pid] <= limit + 60, (pid, answered[pid], limit)
    # Every worker but the last was replaced (the last one too, if its share was up).
    assert set(answered) >= {pid for pid, _, _ in replaced}
    assert len(answered) - len(replaced) in (0, 1)


def test_max_rss_replaces_a_worker_that_grows_too_big(wsgiref_rs_cli):
    served = wsgiref_rs_cli("--max-rss", "120", app=APP, workers=1, cwd=HERE)
    [old] = served.wait_for_workers(1)
    for _ in range(8):
        response = request(served.address, "/leak?mib=25")
        assert response.status == 200
        if response.json["pid"] != old:
            break
        time.sleep(0.4)
    record = served.wait_for_line(rf"Worker {old} uses (\d+) MiB of memory \(max_rss 120\): "
                                  r"replacing it", timeout=10)
    assert int(record.group(1)) > 120
    [new] = served.wait_for_workers(1, without={old})
    assert request(served.address).json["pid"] == new


def test_preload_imports_once_and_a_reload_imports_the_new_code(wsgiref_rs_cli, tmp_path):
    imports = tmp_path / "imports"
    version = tmp_path / "version"
    version.write_text("1")
    env = deploy_env(LIFECYCLE_APP_IMPORTS=imports, LIFECYCLE_APP_VERSION_FILE=version)
    served = wsgiref_rs_cli("--preload", app=APP, workers=2, env=env, cwd=HERE)
    first = served.wait_for_workers(2)
    answers = [request(served.address).json for _ in range(6)]
    assert {a["imported_by"] for a in answers} == {served.pid}
    assert {a["pid"] for a in answers} <= first
    assert all(a["frozen"] > 0 for a in answers), "gc.freeze() before the fork"
    assert imports.read_text().split() == [str(served.pid)]

    version.write_text("2")
    load = Load(served.address, threads=4, per_thread=10_000).start()
    try:
        served.proc.send_signal(signal.SIGHUP)
        new = served.wait_for_workers(2, without=first)
        load.wait_answered_by(new)
        load.wait_answered_since(time.monotonic(), 20)
    finally:
        load.stop()
    assert not load.failures, load.report()
    assert served.proc.poll() is None
    after = request(served.address).json
    assert after["version"] == "2" and after["imported_by"] == served.pid
    # The same supervisor, executed afresh: one import per program.
    assert imports.read_text().split() == [str(served.pid)] * 2
    assert all(is_gone(pid) for pid in first)


def test_a_worker_whose_threads_are_all_busy_leaves_new_connections_to_another(
    wsgiref_rs_cli,
):
    served = wsgiref_rs_cli("--threads", "1", app=APP, workers=2, cwd=HERE)
    slow = {}

    def slow_request():
        slow["answer"] = request(served.address, "/slow?seconds=3", timeout=30).json

    thread = threading.Thread(target=slow_request, daemon=True)
    thread.start()
    time.sleep(0.5)
    took = []
    pids = set()
    for _ in range(12):
        start = time.monotonic()
        pids.add(request(served.address).json["pid"])
        took.append(time.monotonic() - start)
    thread.join(30)
    # Each fast request was answered at once, by the worker whose thread was free.
    assert max(took) < 1.0, took
    assert slow["answer"]["pid"] not in pids
