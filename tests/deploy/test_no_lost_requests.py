"""No request lost: wsgiref-rs with 2 workers under a bounded load (8 client threads, a fresh
connection per request, see deploy_support.Load) while its supervisor reloads, while one worker is
killed, and while it stops with requests in flight.  Every request sent is counted, and so is
every complete, correct answer.

The load's requests take 50 ms in the application (4 threads in each worker), so that each worker
always has some in progress when the signal comes: a reload must let the old workers finish
theirs, and a SIGKILL does cut some short.
"""

import os
import signal
import threading
import time

from deploy_support import Load, deploy_env, is_gone, request, wait_until

THREADS = 8
TARGET = "/slow?seconds=0.05"


def test_sighup_reloads_without_losing_a_request(wsgiref_rs_cli, tmp_path):
    version = tmp_path / "version"
    version.write_text("1")
    served = wsgiref_rs_cli(
        "--threads", "4", "--no-access-log", env=deploy_env(DEPLOY_APP_VERSION_FILE=version)
    )
    old = served.workers()
    load = Load(served.address, threads=THREADS, target=TARGET).start()
    try:
        load.wait_answered_since(0.0, 100)
        version.write_text("2")  # new workers import the app again: they must say so
        os.kill(served.pid, signal.SIGHUP)
        new = served.wait_for_workers(2, without=old)
        replaced = time.monotonic()
        assert all(is_gone(pid) for pid in old), old
        load.wait_answered_since(replaced, 100)
        load.wait_answered_by(new)
    finally:
        load.stop()
    assert not load.failures, load.report()
    assert len(load.outcomes) >= 200, load.report()
    for outcome in load.outcomes:
        assert (outcome.pid, outcome.version) in {(p, "1") for p in old} | {(p, "2") for p in new}
    assert served.proc.poll() is None, served.log()


def test_sigkill_of_a_worker_loses_only_its_requests_in_flight(wsgiref_rs_cli):
    served = wsgiref_rs_cli("--threads", "4", "--no-access-log")
    before = served.workers()
    load = Load(served.address, threads=THREADS, target=TARGET).start()
    try:
        load.wait_answered_since(0.0, 100)
        # The worker that has answered most: it has requests in progress.
        answered = [o.pid for o in list(load.outcomes) if o.pid in before]
        victim = max(before, key=answered.count)
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: is_gone(victim), 10, f"exit of worker {victim}")
        dead = time.monotonic()
        survivor = before - {victim}
        replacement = served.wait_for_workers(2, without={victim}) - survivor
        assert len(replacement) == 1, (before, replacement)
        replaced = time.monotonic()
        load.wait_answered_since(replaced, 100)
        load.wait_answered_by(replacement)
    finally:
        load.stop()
    failures = load.failures
    # At most the requests the victim held: each client thread has one request at a time.
    assert len(failures) <= THREADS, load.report()
    # Each failed request was in progress when the worker was killed: sent before it died, not
    # over before the kill.
    outside = [o for o in failures if not (o.started < dead and o.ended >= killed)]
    assert not outside, f"{len(outside)} failed outside the kill: {load.report()}"
    # A request the kill cut off ends with the connection, not after a client timeout.
    assert not [o for o in failures if "timed out" in o.error], load.report()
    assert served.proc.poll() is None, served.log()


def test_sigterm_answers_every_request_in_flight_then_exits_0(wsgiref_rs_cli, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    served = wsgiref_rs_cli("--threads", "8", env=deploy_env(DEPLOY_APP_MARKS=marks))
    workers = served.workers()
    count = 6
    results = [None] * count
    ended = [None] * count

    def client(n):
        try:
            results[n] = request(served.address, f"/slow?id={n}&seconds=1.0", timeout=20)
        except Exception as e:
            results[n] = e
        ended[n] = time.monotonic()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    # Every request has reached the application before the signal.
    wait_until(lambda: len(os.listdir(marks)) == count, 10, f"{count} requests in the app",
               lambda: f"{sorted(os.listdir(marks))}; stderr:\n{served.log()}")
    os.kill(served.pid, signal.SIGTERM)
    signalled = time.monotonic()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    for n, response in enumerate(results):
        assert not isinstance(response, Exception), f"request {n}: {response!r}\n{served.log()}"
        assert response.status == 200
        assert response.json["id"] == str(n)
        assert ended[n] > signalled, "the request ended before the signal: nothing was tested"
    assert served.proc.wait(timeout=30) == 0, served.log()
    assert all(is_gone(pid) for pid in workers)
