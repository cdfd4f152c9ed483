"""A real nginx, configured with the README's snippet (deploy/nginx.conf), in front of wsgiref-rs
with 2 workers, over TCP and over a Unix socket.

The client connects to nginx from 127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux), so that
the address nginx appends to X-Forwarded-For is neither nginx's own (127.0.0.1, a trusted proxy)
nor the one the client tries to spoof (203.0.113.7): REMOTE_ADDR must be 127.0.0.2.
"""

import pytest
from deploy_support import request
from serving import start_server

CLIENT = "127.0.0.2"
SPOOFED = "203.0.113.7"
# What a client sends to pass itself off as someone else on a secure connection.
SPOOFING_HEADERS = {
    "X-Forwarded-For": SPOOFED,
    "X-Forwarded-Proto": "https",
    "Forwarded": f"for={SPOOFED};proto=https",
}


def upstream_of(served):
    if isinstance(served.address, str):
        return f"unix:{served.address}"
    host, port = served.address
    return f"{host}:{port}"


def start(wsgiref_rs_cli, tmp_path, transport, *options):
    if transport == "unix":
        return wsgiref_rs_cli("--uds", str(tmp_path / "wsgiref-rs.sock"), *options)
    return wsgiref_rs_cli(*options)


def through_nginx(proxy, target, **kwargs):
    response = request(proxy.address, target, source=CLIENT, **kwargs)
    assert response.status == 200, (response, proxy.error_log())
    return response.json


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_nginx_in_front_passes_the_client_address_and_scheme(
    wsgiref_rs_cli, nginx, tmp_path, transport, https
):
    served = start(wsgiref_rs_cli, tmp_path, transport)  # trusts 127.0.0.1, ::1 and unix
    proxy = nginx(upstream_of(served), https=https)
    scheme = "https" if https else "http"
    pids = set()
    for n in range(12):
        answer = through_nginx(proxy, f"/hello/{n}?id={n}", headers=SPOOFING_HEADERS)
        assert answer["id"] == str(n)
        assert answer["PATH_INFO"] == f"/hello/{n}"
        assert answer["REMOTE_ADDR"] == CLIENT, answer
        # nginx appended the address it saw; the app still sees the whole chain.
        assert answer["HTTP_X_FORWARDED_FOR"] == f"{SPOOFED}, {CLIENT}"
        # nginx replaced the client's X-Forwarded-Proto with its own scheme.
        assert answer["HTTP_X_FORWARDED_PROTO"] == scheme
        assert answer["wsgi.url_scheme"] == scheme
        assert answer["HTTPS"] == ("on" if https else None)
        assert answer["HTTP_HOST"] == f"127.0.0.1:{proxy.port}"
        assert answer["wsgi.multiprocess"] is True
        pids.add(answer["pid"])
    posted = through_nginx(proxy, "/form?id=post", method="POST", body=b"a=1&b=\xe9" * 1000,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (posted["REQUEST_METHOD"], posted["body"]) == ("POST", "a=1&b=\xe9" * 1000)
    # The workers answered, not the supervisor.
    assert pids <= served.workers(), (pids, served.workers())


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_an_untrusted_proxy_cannot_set_the_client_address_or_scheme(
    wsgiref_rs_cli, nginx, tmp_path, transport
):
    # 192.0.2.1 (TEST-NET-1) is nobody here: neither nginx nor any client is trusted.
    served = start(wsgiref_rs_cli, tmp_path, transport, "--forwarded-allow-ips", "192.0.2.1")
    proxy = nginx(upstream_of(served), https=True)
    answer = through_nginx(proxy, "/?id=1", headers=SPOOFING_HEADERS)
    # The peer itself: nginx's upstream connection ("" for a Unix socket, as gunicorn says).
    assert answer["REMOTE_ADDR"] == ("" if transport == "unix" else "127.0.0.1"), answer
    assert answer["wsgi.url_scheme"] == "http"
    assert answer["HTTPS"] is None
    # Ignored, not hidden.
    assert answer["HTTP_X_FORWARDED_FOR"] == f"{SPOOFED}, {CLIENT}"
    assert answer["HTTP_X_FORWARDED_PROTO"] == "https"


@pytest.mark.parametrize("allow", [None, "192.0.2.1"], ids=["default-trust", "trust-192.0.2.1"])
def test_a_client_that_bypasses_nginx_cannot_spoof_its_address_or_scheme(wsgiref_rs_cli, allow):
    options = ("--forwarded-allow-ips", allow) if allow else ()
    served = wsgiref_rs_cli(*options)
    # With the default trust (127.0.0.1), the direct client must come from elsewhere: 127.0.0.2.
    source = CLIENT if allow is None else "127.0.0.1"
    response = request(served.address, "/?id=direct", headers=SPOOFING_HEADERS, source=source)
    assert response.status == 200
    answer = response.json
    assert answer["REMOTE_ADDR"] == source, answer
    assert answer["wsgi.url_scheme"] == "http"
    assert answer["HTTPS"] is None
    assert answer["HTTP_X_FORWARDED_FOR"] == SPOOFED
    assert answer["HTTP_FORWARDED"] == SPOOFING_HEADERS["Forwarded"]


def test_nginx_keeps_its_connections_to_wsgiref_rs_open(nginx):
    """The snippet's keep-alive (HTTP/1.1, no Connection header, the upstream's keepalive pool):
    one upstream connection serves request after request. make_server, the drop-in API, is the
    upstream here, so its REMOTE_PORT is the port of nginx's side of that connection."""
    from deploy_app import app

    with start_server(app) as server:
        proxy = nginx(f"127.0.0.1:{server.server_address[1]}")
        ports = []
        for n in range(10):
            answer = through_nginx(proxy, f"/?id={n}")
            assert (answer["id"], answer["REMOTE_ADDR"]) == (str(n), "127.0.0.1")
            ports.append(answer["REMOTE_PORT"])
    assert len(set(ports)) == 1, ports
