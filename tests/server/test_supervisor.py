"""The supervisor and its worker processes, as real processes on loopback: several workers
answer, a killed worker is replaced, SIGTTIN/SIGTTOU change the count, SIGHUP brings new code
(and keeps the old workers when the new code is broken), SIGTERM lets in-flight requests finish,
and --reload notices an edited file."""

import os
import signal
import threading

from cli_support import children, get, wait_until, write_app


def answering_pids(port, want, tries=200):
    """The worker pids seen answering fresh connections, until ``want`` distinct ones are seen."""
    seen = set()
    for _ in range(tries):
        status, body = get(port)
        assert status == 200
        seen.add(body["pid"])
        if len(seen) >= want:
            break
    return seen


def workers_of(server, count):
    """The supervisor's children, once there are exactly ``count`` of them."""
    return wait_until(lambda: (lambda c: c if len(c) == count else None)(children(server.pid)),
                      what=f"{count} workers")


def booted(server, count):
    return server.wait_for(r"Booting worker with pid: (\d+)", count=count)


def test_two_workers_answer_and_the_environ_says_multiprocess(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    port = server.port
    pids = workers_of(server, 2)
    seen = answering_pids(port, 2)
    assert seen == pids  # the workers answer, not the supervisor
    assert get(port)[1]["multiprocess"] is True
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert children(server.pid) == set()


def test_a_killed_worker_is_replaced(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    port = server.port
    before = workers_of(server, 2)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    server.wait_for(rf"Worker {victim} died \(killed by SIGKILL\): starting another")
    after = wait_until(lambda: (lambda c: c if len(c) == 2 and victim not in c else None)(
        children(server.pid)), what="a replacement worker")
    assert len(after - before) == 1
    assert answering_pids(port, 2) == after


def test_sigttin_adds_a_worker_and_sigttou_removes_one(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    port = server.port
    two = workers_of(server, 2)
    server.signal(signal.SIGTTIN)
    three = workers_of(server, 3)
    assert two < three
    assert answering_pids(port, 3) == three
    server.signal(signal.SIGTTOU)
    left = workers_of(server, 2)
    assert left < three
    assert three - two <= left  # the oldest goes first
    server.signal(signal.SIGTTOU)
    workers_of(server, 1)
    server.signal(signal.SIGTTOU)  # never below one
    server.wait_for("SIGTTOU: 1 workers")
    assert len(workers_of(server, 1)) == 1


def test_sighup_starts_new_workers_with_new_code_then_stops_the_old(start, app_dir):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    port = server.port
    old = workers_of(server, 2)
    assert answering_pids(port, 2) == old  # both have imported the first version
    assert get(port)[1]["version"] == "v1"
    write_app(app_dir, version="v2, reloaded")  # a new size: no stale bytecode
    server.signal(signal.SIGHUP)
    new = wait_until(lambda: (lambda c: c if len(c) == 2 and not c & old else None)(
        children(server.pid)), what="the new workers alone")
    for _ in range(10):
        status, body = get(port)
        assert (status, body["version"]) == (200, "v2, reloaded")
        assert body["pid"] in new
    server.wait_for("The new workers serve: stopping 2 old one")


def test_a_sighup_with_broken_code_keeps_the_old_workers(start, app_dir):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    port = server.port
    old = workers_of(server, 2)
    assert answering_pids(port, 2) == old  # both have imported the good version
    (app_dir / "testapp.py").write_text("def app(:\n")
    server.signal(signal.SIGHUP)
    server.wait_for(r"ERROR wsgiref_rs.server: Reload failed, the running workers stay: "
                    r"app 'testapp:app': importing 'testapp' failed: SyntaxError")
    assert workers_of(server, 2) == old
    assert answering_pids(port, 2) == old
    write_app(app_dir, version="v3, fixed again")
    server.signal(signal.SIGHUP)
    wait_until(lambda: (lambda c: c if len(c) == 2 and not c & old else None)(
        children(server.pid)), what="the new workers alone")
    assert get(port)[1]["version"] == "v3, fixed again"


def test_sigterm_finishes_the_requests_in_flight_then_exits_0(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    port = server.port
    workers_of(server, 2)
    results = []
    clients = [threading.Thread(target=lambda: results.append(get(port, "/sleep?1.5")))
               for _ in range(2)]
    for client in clients:
        client.start()
    server.wait_for(r"^sleeping \d+$", count=2)
    server.signal(signal.SIGTERM)
    for client in clients:
        client.join(15)
    assert [status for status, _ in results] == [200, 200]
    assert server.wait() == 0
    assert children(server.pid) == set()
    assert server.err[-1].endswith("INFO wsgiref_rs.server: Stopped")


def test_reload_restarts_the_worker_when_a_source_file_changes(start, app_dir):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--reload")
    port = server.port
    [first] = workers_of(server, 1)
    assert first != server.pid
    assert get(port)[1]["version"] == "v1"
    write_app(app_dir, version="v2 after an edit")
    server.wait_for(r"Reloading \(.*testapp\.py changed\)")
    wait_until(lambda: get(port)[1]["version"] == "v2 after an edit", what="the new code")
    assert first not in children(server.pid)
    server.signal(signal.SIGINT)
    assert server.wait() == 0


def test_a_worker_exits_when_its_supervisor_is_killed(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--workers", "2")
    pids = workers_of(server, 2)
    booted(server, 2)
    server.signal(signal.SIGKILL)
    server.wait()

    wait_until(lambda: not any(alive(pid) for pid in pids),
               what="the orphaned workers to exit")


def alive(pid):
    """Whether ``pid`` runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
