"""A rolling deploy: wsgiref-rs on two hosts behind a real nginx configured with the README's
recipe for several hosts (deploy/nginx-hosts.conf), one host restarted after the other, then
both reloaded, under a bounded load that counts every request; and what a host does while it
stops.

Each host is a Linux network namespace of its own, joined to the test's namespace by a veth pair:
the host listens on 10.231.N.2:8000, and nginx (in the test's namespace) reaches it from
10.231.N.1, the address the host's --forwarded-allow-ips trusts. A stopped host is then really
gone from the network, as a restarted machine would be, instead of a port on a shared loopback.
The namespaces and veths are named after the test's pid and deleted at the end, even on failure.
"""

import collections
import http.client
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass

import debian
import pytest
from deploy_support import Load, deploy_env, is_gone, request, wait_until

PORT = 8000
STOP_TIMEOUT = 15.0
THREADS = 6
# 50 ms in the application, so that each host always has requests in flight when it is signalled.
TARGET = "/slow?seconds=0.05"
CLIENT = "127.0.0.2"  # not nginx's own address: REMOTE_ADDR shows the header was believed
_serial = itertools.count()


@dataclass
class Host:
    """A machine of its own for wsgiref-rs: the network namespace ``name``, joined to the test's
    namespace by a veth pair (``link`` is the test's end), ``outside`` on the test's side and
    ``inside`` on the host's."""

    name: str
    link: str
    outside: str
    inside: str
    ip: str

    @property
    def prefix(self):
        """What runs a command on this host (ip execs the command: its pid stays the same)."""
        return (self.ip, "netns", "exec", self.name)

    @property
    def bind(self):
        return f"{self.inside}:{PORT}"


def _run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 0, f"{' '.join(argv)} failed: {proc.stderr}"
    return proc.stdout


def _free_subnet(ip):
    """N such that no address of 10.231.N.0/24 is in use here, searched from a number taken
    from the pid so that test runs side by side pick different ones."""
    used = set(re.findall(r"\binet 10\.231\.(\d+)\.", _run([ip, "-o", "-4", "addr", "show"])))
    for k in range(254):
        n = (os.getpid() + k) % 254 + 1
        if str(n) not in used:
            return n
    raise AssertionError("every 10.231.N.0/24 is in use")


@pytest.fixture(scope="session")
def ip_binary():
    return debian.program("ip", "iproute2")


@pytest.fixture
def make_host(ip_binary):
    """``make_host()`` builds one more host; every host is deleted at the end."""
    undo = []

    def make():
        n = next(_serial)
        name = f"wsgiref-rs-{os.getpid()}-{n}"
        # Interface names have at most 15 characters: "wr" + pid (7 at most) + serial + t/h.
        link, peer = f"wr{os.getpid()}{n}t", f"wr{os.getpid()}{n}h"
        subnet = _free_subnet(ip_binary)
        host = Host(name, link, f"10.231.{subnet}.1", f"10.231.{subnet}.2", ip_binary)
        _run([ip_binary, "netns", "add", name])
        undo.append([ip_binary, "netns", "delete", name])
        _run([ip_binary, "link", "add", link, "type", "veth", "peer", "name", peer, "netns", name])
        undo.append([ip_binary, "link", "delete", link])  # deletes the host's end with it
        _run([ip_binary, "addr", "add", f"{host.outside}/24", "dev", link])
        _run([ip_binary, "link", "set", link, "up"])
        inside = [*host.prefix, ip_binary]
        _run([*inside, "addr", "add", f"{host.inside}/24", "dev", peer])
        _run([*inside, "link", "set", peer, "up"])
        _run([*inside, "link", "set", "lo", "up"])
        return host

    yield make
    failed = []
    for argv in reversed(undo):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if proc.returncode != 0:
            failed.append(f"{' '.join(argv)}: {proc.stderr.strip()}")
    assert not failed, failed


def serve_on(wsgiref_rs_cli, host, *options, env):
    """wsgiref-rs on host, 2 workers of 4 threads, trusting nginx's address as the host sees
    it."""
    served = wsgiref_rs_cli("--bind", host.bind, "--forwarded-allow-ips", host.outside,
                            "--threads", "4", *options, env=env, prefix=host.prefix)
    assert served.address == (host.inside, PORT), served.address
    return served


def answered_by(outcomes, pids, start, end):
    """How many of the outcomes sent between start and end these workers answered."""
    return sum(1 for o in outcomes if o.pid in pids and start < o.started < end)


def test_a_rolling_deploy_across_two_hosts_behind_nginx_loses_no_request(
    make_host, nginx, wsgiref_rs_cli, tmp_path
):
    version = tmp_path / "version"
    version.write_text("1")
    env = deploy_env(DEPLOY_APP_VERSION_FILE=version)
    hosts = [make_host(), make_host()]
    served = [serve_on(wsgiref_rs_cli, host, "--no-access-log", env=env) for host in hosts]
    proxy = nginx(site="nginx-hosts.conf", HOST_A=hosts[0].bind, HOST_B=hosts[1].bind)
    # Every worker that may answer, with the version of the code it imported.
    known = {(pid, "1") for s in served for pid in s.workers()}

    # Each host believes nginx's X-Forwarded-For (its --forwarded-allow-ips), and nginx sends
    # requests to both. Round robin alternates, so a few requests reach both hosts.
    seen = set()
    for n in range(6):
        response = request(proxy.address, f"/?id=fwd{n}", source=CLIENT)
        assert response.status == 200, (response, proxy.error_log())
        assert response.json["REMOTE_ADDR"] == CLIENT, response.json
        seen.add(response.json["pid"])
    assert all(seen & s.workers() for s in served), (seen, [s.workers() for s in served])

    load = Load(proxy.address, threads=THREADS, target=TARGET).start()
    try:
        load.wait_answered_since(0.0, 50)
        version.write_text("2")
        for n, host in enumerate(hosts):
            other = served[1 - n]
            os.kill(served[n].pid, signal.SIGTERM)
            stopped = time.monotonic()
            assert served[n].proc.wait(timeout=STOP_TIMEOUT) == 0, served[n].log()
            served[n] = serve_on(wsgiref_rs_cli, host, "--no-access-log", env=env)
            restarted = served[n].workers()
            known |= {(pid, "2") for pid in restarted}
            # Once nginx sends the restarted host requests again, the other one may go down.
            load.wait_answered_by(restarted, since=stopped)
            back = time.monotonic()
            # The other host carried the load alone meanwhile, and still takes its share.
            alone = answered_by(list(load.outcomes), other.workers(), stopped, back)
            assert alone > 0, f"host {n} was down and nobody answered. {load.report()}"
            load.wait_answered_by(other.workers(), since=back)
        version.write_text("3")
        old = [s.workers() for s in served]
        for s in served:
            os.kill(s.pid, signal.SIGHUP)
        new = [s.wait_for_workers(2, without=pids) for s, pids in zip(served, old)]
        replaced = time.monotonic()
        known |= {(pid, "3") for pids in new for pid in pids}
        assert all(is_gone(pid) for pids in old for pid in pids), old
        for pids in new:
            load.wait_answered_by(pids, since=replaced)
    finally:
        load.stop()
    assert not load.failures, f"{load.report()}\nnginx's error log:\n{proxy.error_log()}"
    assert len(load.outcomes) >= 200, load.report()
    # Each answer came from a worker running the version it was started with.
    strays = {(o.pid, o.version) for o in load.outcomes} - known
    assert not strays, (strays, known)
    for s in served:
        assert s.proc.poll() is None, s.log()


# How long the slow request takes: far longer than a stopping host may take to refuse new
# connections and to close idle ones, so that both are seen while it is still in flight.
SLOW = 3.0
REFUSED_WITHIN = 1.0
KEEPALIVE_TIMEOUT = 30  # idle connections closed long before it: by the stop, not by the timeout
IDLE_CLOSED_WITHIN = 3.0


def first_refusal(address, timeout):
    """Connect to address until a connection is refused: (when it was, or None, and how many
    attempts before ended how)."""
    deadline = time.monotonic() + timeout
    before = collections.Counter()
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(address, timeout=0.5):
                before["accepted"] += 1  # into the listen backlog: closed unanswered
        except ConnectionRefusedError:
            return time.monotonic(), before
        except OSError as e:
            before[f"{type(e).__name__}: {e}"] += 1
        time.sleep(0.02)
    return None, before


def test_a_stopping_host_refuses_new_connections_answers_its_requests_and_closes_idle_ones(
    make_host, wsgiref_rs_cli, tmp_path
):
    marks = tmp_path / "marks"
    marks.mkdir()
    host = make_host()
    served = serve_on(wsgiref_rs_cli, host, "--keepalive-timeout", str(KEEPALIVE_TIMEOUT),
                      env=deploy_env(DEPLOY_APP_MARKS=marks))
    # An idle keep-alive connection: one request answered, the connection left open.
    idle = http.client.HTTPConnection(*served.address, timeout=10)
    idle.request("GET", "/?id=idle")
    first = idle.getresponse()
    body = first.read()
    assert (first.status, first.will_close) == (200, False), body
    # A slow request in flight on another connection.
    slow = {}

    def send_slow():
        try:
            slow["response"] = request(served.address, f"/slow?id=slow&seconds={SLOW}",
                                       timeout=SLOW + 20)
        except Exception as e:  # shown by the assertion below
            slow["response"] = e
        slow["ended"] = time.monotonic()

    client = threading.Thread(target=send_slow, daemon=True)
    client.start()
    wait_until(lambda: os.listdir(marks) == ["slow"], 10, "the slow request in the application",
               served.log)
    workers = served.workers()

    os.kill(served.pid, signal.SIGTERM)
    signalled = time.monotonic()
    refused, attempts = first_refusal(served.address, REFUSED_WITHIN)
    idle.sock.settimeout(IDLE_CLOSED_WITHIN)
    try:
        idle_read = idle.sock.recv(1)
    except OSError as e:
        idle_read = e
    idle_closed = time.monotonic()
    idle.close()
    client.join(SLOW + 30)
    assert not client.is_alive()
    exit_code = served.proc.wait(timeout=STOP_TIMEOUT)

    # The refusal is asserted last, so that a failure there comes once the rest has been shown
    # to hold.
    response = slow["response"]
    assert not isinstance(response, Exception), f"{response!r}\n{served.log()}"
    assert (response.status, response.json["id"]) == (200, "slow"), response
    assert slow["ended"] > signalled + 1.0, "the slow request was not in flight at the signal"
    # Closed by the stop, at its start: not by the keep-alive timeout, nor once the slow request
    # was done.
    assert idle_read == b"", f"the idle connection read {idle_read!r}"
    assert idle_closed < slow["ended"], (idle_closed - signalled, slow["ended"] - signalled)
    assert exit_code == 0, served.log()
    assert all(is_gone(pid) for pid in workers), workers
    assert refused is not None, (
        f"new connections were not refused within {REFUSED_WITHIN} s of SIGTERM "
        f"({dict(attempts)}): "
        f"they wait unanswered in the listen backlog, where nginx cannot tell them from slow "
        f"requests. stderr:\n{served.log()}"
    )
    assert refused < slow["ended"], "refused only once the host had finished its requests"
