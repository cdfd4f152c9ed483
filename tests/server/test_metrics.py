"""``--metrics-bind``: the real command with workers, a known mix of requests, and /metrics read
by Prometheus's own text parser, whose counts must be exact: requests by method and status
class, the duration histogram, the bytes each way (as the clients counted them), the requests
in flight, and workers replaced for --max-requests and --timeout, whose requests still count."""

import re
import socket
import urllib.error
import urllib.request

import pytest
from cli_support import Server, run_cli, wait_until
from prometheus_client.parser import text_string_to_metric_families

APP = '''\
import os
import time


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/slow":
        # Until the test says so: a request in flight for as long as it looks.
        for _ in range(500):
            if os.path.exists(environ["QUERY_STRING"]):
                break
            time.sleep(0.01)
    if path == "/hang":
        time.sleep(30)
    body = environ["wsgi.input"].read()
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not here"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!" + body]
'''

METRICS_AT = r"Metrics at: http://127\.0\.0\.1:(\d+)/metrics"


@pytest.fixture
def serve(tmp_path):
    (tmp_path / "metricsapp.py").write_text(APP)
    servers = []

    def start(*args):
        server = Server(["metricsapp:app", "--bind", "127.0.0.1:0", "--metrics-bind",
                         "127.0.0.1:0", "--no-access-log", *args], tmp_path)
        servers.append(server)
        server.port_metrics = int(server.wait_for(METRICS_AT)[0].group(1))
        return server

    yield start
    for server in servers:
        server.stop()


def exchange(port, raw):
    """Sends ``raw`` (a request with Connection: close) and reads to the end: (request bytes,
    response bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    return len(raw), got


def request(method, path, body=b""):
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def scrape(server):
    """{sample name: {labels as a sorted tuple: value}} of /metrics, through Prometheus's
    parser."""
    url = f"http://127.0.0.1:{server.port_metrics}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = response.read().decode()
    samples = {}
    kinds = {}
    for family in text_string_to_metric_families(text):
        kinds[family.name] = family.type
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    samples["_kinds"] = kinds
    return samples


def one(samples, name, **labels):
    return samples[name].get(tuple(sorted(labels.items())), 0)


@pytest.mark.parametrize("threads", ["0", "4"])
def test_a_known_mix_of_requests_is_counted_exactly_over_two_workers(serve, tmp_path, threads):
    server = serve("--workers", "2", "--threads", threads)
    port = server.port
    sent = received = 0
    mix = [request("GET", "/")] * 3 + [request("GET", "/missing"), request("GET", "/boom"),
                                        request("POST", "/", b"x" * 1000),
                                        request("PROPFIND", "/"), request("HEAD", "/")]
    for raw in mix:
        out, back = exchange(port, raw)
        sent, received = sent + out, received + len(back)
    # A request in flight, on one of the workers, while the metrics are read.
    flag = tmp_path / "go"
    slow = socket.create_connection(("127.0.0.1", port), timeout=10)
    slow_raw = request("GET", f"/slow?{flag}")
    slow.sendall(slow_raw)
    m = wait_until(lambda: (s := scrape(server)) and one(s, "wsgiref_rs_requests_in_flight")
                   == 1 and s, what="the slow request in flight")
    assert one(m, "wsgiref_rs_workers") == 2
    assert one(m, "wsgiref_rs_connections_open") >= 1
    flag.write_text("")
    back = b""
    while chunk := slow.recv(65536):
        back += chunk
    slow.close()
    sent, received = sent + len(slow_raw), received + len(back)

    m = wait_until(lambda: (s := scrape(server))
                   and one(s, "wsgiref_rs_connections_open") == 0 and s, what="all closed")
    requests = m["wsgiref_rs_requests_total"]
    assert requests == {
        (("method", "GET"), ("status", "2xx")): 4,
        (("method", "GET"), ("status", "4xx")): 1,
        (("method", "GET"), ("status", "5xx")): 1,
        (("method", "POST"), ("status", "2xx")): 1,
        (("method", "other"), ("status", "2xx")): 1,
        (("method", "HEAD"), ("status", "2xx")): 1,
    }
    assert m["_kinds"]["wsgiref_rs_request_duration_seconds"] == "histogram"
    assert one(m, "wsgiref_rs_request_duration_seconds_count") == 9
    assert one(m, "wsgiref_rs_request_duration_seconds_bucket", le="+Inf") == 9
    # The slow one took at least the time the test took to see it in flight.
    assert one(m, "wsgiref_rs_request_duration_seconds_bucket", le="0.001") <= 8
    assert 0 < one(m, "wsgiref_rs_request_duration_seconds_sum") < 10
    buckets = [v for k, v in sorted(m["wsgiref_rs_request_duration_seconds_bucket"].items(),
                                    key=lambda kv: float(kv[0][0][1]))]
    assert buckets == sorted(buckets), "cumulative"
    assert one(m, "wsgiref_rs_received_bytes_total") == sent
    assert one(m, "wsgiref_rs_sent_bytes_total") == received
    assert one(m, "wsgiref_rs_requests_in_flight") == 0
    assert one(m, "wsgiref_rs_connections_queued") == 0
    assert one(m, "wsgiref_rs_worker_starts_total") == 2
    assert sum(m["wsgiref_rs_worker_exits_total"].values()) == 0


def test_other_paths_are_not_found_and_head_has_no_body(serve):
    server = serve("--workers", "2")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port_metrics}/", timeout=10)
    assert e.value.code == 404
    head = urllib.request.Request(f"http://127.0.0.1:{server.port_metrics}/metrics?x=1",
                                  method="HEAD")
    with urllib.request.urlopen(head, timeout=10) as response:
        assert response.status == 200 and response.read() == b""


def test_replaced_workers_are_counted_by_reason_and_their_requests_still_count(serve):
    server = serve("--workers", "1", "--max-requests", "3", "--timeout", "1")
    port = server.port
    for _ in range(3):
        exchange(port, request("GET", "/"))
    # Recycled gracefully once its successor serves.
    m = wait_until(lambda: (s := scrape(server))
                   and one(s, "wsgiref_rs_worker_exits_total", reason="max_requests") == 1
                   and s, what="the max_requests exit")
    assert one(m, "wsgiref_rs_requests_total", method="GET", status="2xx") == 3
    assert one(m, "wsgiref_rs_worker_starts_total") == 2
    exchange(port, request("GET", "/missing"))
    # A request that hangs: the worker is killed for --timeout; what it answered before stays.
    hung = socket.create_connection(("127.0.0.1", port), timeout=10)
    hung.sendall(request("GET", "/hang"))
    m = wait_until(lambda: (s := scrape(server))
                   and one(s, "wsgiref_rs_worker_exits_total", reason="timeout") == 1
                   and s, what="the timeout exit")
    hung.close()
    assert one(m, "wsgiref_rs_requests_total", method="GET", status="2xx") == 3
    assert one(m, "wsgiref_rs_requests_total", method="GET", status="4xx") == 1
    assert one(m, "wsgiref_rs_request_duration_seconds_count") == 4
    assert one(m, "wsgiref_rs_requests_in_flight") == 0
    assert one(m, "wsgiref_rs_worker_starts_total") == 3
    assert one(m, "wsgiref_rs_worker_exits_total", reason="crash") == 0
    assert one(m, "wsgiref_rs_workers") == 1


@pytest.mark.parametrize("value, message", [
    ("9100", "--metrics-bind must be HOST:PORT"),
    ("127.0.0.1", "--metrics-bind must be HOST:PORT"),
    ("unix:/tmp/m.sock", "--metrics-bind must be HOST:PORT"),
    ("127.0.0.1:99999", "port must be a number from 0 to 65535"),
])
def test_a_bad_address_is_one_line_and_status_2(tmp_path, value, message):
    (tmp_path / "metricsapp.py").write_text(APP)
    code, out, err = run_cli(["metricsapp:app", "--metrics-bind", value], tmp_path)
    assert code == 2, err
    assert err.count("\n") == 1 and message in err, err


def test_an_address_in_use_is_one_line_and_status_2(tmp_path):
    (tmp_path / "metricsapp.py").write_text(APP)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(["metricsapp:app", "--bind", "127.0.0.1:0", "--metrics-bind",
                                  f"127.0.0.1:{port}"], tmp_path)
    assert code == 2, err
    assert re.fullmatch(rf"wsgiref-rs: error: --metrics-bind 127\.0\.0\.1:{port}: .*[Aa]ddress "
                        r"already in use\n", err), err


def test_metrics_bind_runs_the_supervisor_and_takes_ipv6():
    from wsgiref_rs.server.config import Config

    config = Config(app="metricsapp:app", timeout=0, metrics_bind="[::1]:9100").check()
    assert config.supervised and config.metrics_address == ("::1", 9100)
    assert not Config(app="metricsapp:app", timeout=0).check().supervised
