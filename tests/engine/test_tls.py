"""TLS in the engine (``--certfile``/``--keyfile``, rustls): real clients (Python's ``ssl`` with
``http.client``, ``requests``, ``curl``) against the command line, with a CA the test makes
(tls_support); client certificates (``--ca-certs``, ``--cert-reqs``); hostile clients (plain HTTP,
garbage, a stalled handshake), each costing its own connection only; SIGHUP reloading the
certificate without dropping connections; the PROXY protocol before the handshake; and the
settings refused with one line."""

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
import requests
import tls_support
from cli_support import TIMEOUT, Server, own_environ, wait_until
from cryptography import x509

APP = '''\
import hashlib
import json
import os

from wsgiref_rs.util import FileWrapper

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data.bin")


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(os.path.getsize(DATA)))])
        return environ["wsgi.file_wrapper"](open(DATA, "rb"))
    if path == "/big":
        body = bytes(range(256)) * 4096
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [body]
    if path == "/upload":
        digest, size = hashlib.sha256(), 0
        while True:
            chunk = environ["wsgi.input"].read(65536)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        body = json.dumps({"size": size, "sha256": digest.hexdigest()}).encode()
    else:
        body = json.dumps({
            "url_scheme": environ["wsgi.url_scheme"],
            "https": environ.get("HTTPS"),
            "client": environ.get("SSL_CLIENT_S_DN"),
            "remote": [environ["REMOTE_ADDR"], environ.get("REMOTE_PORT")],
            "pid": os.getpid(),
        }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''

HEADER_TIMEOUT = 1.5
FILE_SIZE = 3 * 1024 * 1024 + 123


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tls_support.make(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tlsapp")
    (directory / "tlsapp.py").write_text(APP)
    (directory / "data.bin").write_bytes(os.urandom(FILE_SIZE))
    return directory


def start(app_dir, certs, *options, env=None):
    server = Server(["tlsapp:app", "--bind", "127.0.0.1:0", "--timeout", "0",
                     "--header-timeout", str(HEADER_TIMEOUT), "--certfile", str(certs.cert),
                     "--keyfile", str(certs.key), *options], cwd=app_dir, env=env)
    url = server.listening()[0]
    assert url.startswith("https://127.0.0.1:"), url
    return server


@pytest.fixture(scope="module", params=["loop", "threads"])
def server(request, app_dir, certs):
    """The TLS server, with the application on the event loop's thread and on worker threads
    (a file response goes out from the loop in turns, or from the worker at once)."""
    options = ["--threads", "4"] if request.param == "threads" else []
    running = start(app_dir, certs, *options)
    yield running
    running.stop()


def context(certs, client=None, version=None):
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    ctx.set_alpn_protocols(["http/1.1"])
    if client is not None:
        ctx.load_cert_chain(*client)
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def connection(port, ctx):
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=TIMEOUT)


def get_json(conn, path="/"):
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_https_with_keep_alive_on_tls_1_3_and_1_2(server, certs, version):
    conn = connection(server.port, context(certs, version=version))
    try:
        first = get_json(conn)
        assert conn.sock.version() == {ssl.TLSVersion.TLSv1_3: "TLSv1.3",
                                       ssl.TLSVersion.TLSv1_2: "TLSv1.2"}[version]
        assert conn.sock.selected_alpn_protocol() == "http/1.1"
        second = get_json(conn)
    finally:
        conn.close()
    assert first["url_scheme"] == "https" and first["https"] == "on"
    assert first["client"] is None
    # One connection carried both.
    assert first["remote"] == second["remote"]


def test_big_responses_and_file_wrapper_files_go_through_tls_whole(server, certs, app_dir):
    conn = connection(server.port, context(certs))
    try:
        for _ in range(2):  # and the connection carries on after each
            conn.request("GET", "/file")
            response = conn.getresponse()
            assert response.status == 200
            assert response.read() == (app_dir / "data.bin").read_bytes()
            conn.request("GET", "/big")
            response = conn.getresponse()
            assert response.getheader("Content-Length") == str(256 * 4096)
            assert response.read() == bytes(range(256)) * 4096
    finally:
        conn.close()


def test_requests_with_the_tests_ca_and_a_chunked_upload(server, certs):
    payload = [os.urandom(50_000) for _ in range(20)]
    with requests.Session() as session:
        session.trust_env = False
        url = f"https://127.0.0.1:{server.port}"
        answer = session.get(url + "/", verify=str(certs.ca), timeout=TIMEOUT).json()
        assert answer["url_scheme"] == "https"
        # A generator body goes out chunked.
        response = session.post(url + "/upload", data=iter(payload), verify=str(certs.ca),
                                timeout=TIMEOUT)
        whole = b"".join(payload)
        assert response.json() == {"size": len(whole),
                                   "sha256": hashlib.sha256(whole).hexdigest()}
        # Untrusted without the CA: requests refuses the server, as it should.
        with pytest.raises(requests.exceptions.SSLError):
            session.get(url + "/", timeout=TIMEOUT)


def test_curl(server, certs, curl):
    done = subprocess.run(
        [curl, "--silent", "--show-error", "--noproxy", "*", "--cacert", str(certs.ca),
         "--tlsv1.3", "--http1.1", f"https://127.0.0.1:{server.port}/", "--next",
         "--noproxy", "*", "--cacert", str(certs.ca), f"https://localhost:{server.port}/"],
        capture_output=True, text=True, timeout=TIMEOUT, env=own_environ())
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.replace("}{", "}\n{").splitlines())
    assert first["https"] == "on" == second["https"]


def test_plain_http_to_the_tls_port_gets_a_400_and_the_others_are_served(server, certs):
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert answer.endswith(b"The plain HTTP request was sent to HTTPS port.\n")
    served(server, certs)


def test_garbage_and_a_failed_handshake_close_only_their_connection(server, certs):
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(200))
        assert b"HTTP" not in read_all(sock)  # an alert at most, then closed
    # A client that does not trust the server's certificate gives up in the handshake.
    untrusting = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        with pytest.raises(ssl.SSLCertVerificationError):
            untrusting.wrap_socket(sock, server_hostname="127.0.0.1")
    served(server, certs)


def test_a_stalled_handshake_is_closed_at_the_header_timeout_meanwhile_others_are_served(
        server, certs):
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as stalled:
        # The start of a ClientHello's record, and nothing more.
        stalled.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        began = time.monotonic()
        for _ in range(3):
            served(server, certs)
        assert read_all(stalled) == b""
        waited = time.monotonic() - began
    assert HEADER_TIMEOUT - 0.2 <= waited <= HEADER_TIMEOUT + 2.5, waited
    # A connection that says nothing at all is bounded the same way.
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as silent:
        began = time.monotonic()
        assert read_all(silent) == b""
        assert time.monotonic() - began <= HEADER_TIMEOUT + 2.5
    served(server, certs)


def served(server, certs):
    conn = connection(server.port, context(certs))
    try:
        assert get_json(conn)["https"] == "on"
    finally:
        conn.close()


def read_all(sock):
    got = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


@pytest.mark.parametrize("reqs", ["required", "optional"])
def test_client_certificates(app_dir, certs, reqs):
    running = start(app_dir, certs, "--ca-certs", str(certs.ca), "--cert-reqs", reqs)
    try:
        client = (str(certs.client_cert), str(certs.client_key))
        conn = connection(running.port, context(certs, client=client))
        try:
            answer = get_json(conn)
        finally:
            conn.close()
        # The subject as RFC 4514 writes it, escapes and all (cryptography's own rendering).
        assert answer["client"] == certs.client_subject
        assert "\\," in answer["client"] and "\\+" in answer["client"]
        # A certificate from a CA the server does not know fails the handshake.
        stranger = (str(certs.stranger_cert), str(certs.stranger_key))
        with pytest.raises((ssl.SSLError, ConnectionError)):
            conn = connection(running.port, context(certs, client=stranger))
            try:
                get_json(conn)
            finally:
                conn.close()
        anonymous = connection(running.port, context(certs))
        try:
            if reqs == "required":
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    get_json(anonymous)
            else:
                assert get_json(anonymous)["client"] is None
        finally:
            anonymous.close()
        conn = connection(running.port, context(certs, client=client))
        try:
            assert get_json(conn)["client"] == certs.client_subject
        finally:
            conn.close()
    finally:
        running.stop()
    assert "TLS handshake with 127.0.0.1" in "\n".join(running.err)


def peer_subject(port):
    """The common name of the certificate the server shows a new connection now."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        with ctx.wrap_socket(sock) as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value


@pytest.mark.parametrize("workers", [None, "2"], ids=["one-process", "supervised"])
def test_sighup_reloads_the_certificate_without_dropping_connections(
        app_dir, tmp_path, workers):
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    old = tls_support.make(tmp_path / "old", name="before")
    new = tls_support.make(tmp_path / "new", name="after")
    live_cert, live_key = tmp_path / "live.pem", tmp_path / "live.key"
    shutil.copy(old.cert, live_cert)
    shutil.copy(old.key, live_key)
    # Threads: the upload in flight holds one while the others answer.
    options = ["--workers", workers, "--timeout", "30"] if workers else []
    running = Server(["tlsapp:app", "--bind", "127.0.0.1:0", "--timeout", "0", "--threads", "2",
                      "--certfile", str(live_cert), "--keyfile", str(live_key), *options],
                     cwd=app_dir)
    try:
        port = running.port
        assert peer_subject(port) == "before"
        # A request in flight across the reload: a slow upload, sent in two halves.
        ctx = ssl.create_default_context(cafile=str(old.ca))
        kept = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=TIMEOUT)
        kept.putrequest("POST", "/upload")
        kept.putheader("Content-Length", "200000")
        kept.endheaders()
        kept.send(b"x" * 100_000)
        shutil.copy(new.cert, live_cert)
        shutil.copy(new.key, live_key)
        running.signal(signal.SIGHUP)
        wait_until(lambda: peer_subject(port) == "after", what="the new certificate")
        kept.send(b"y" * 100_000)
        response = kept.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["size"] == 200_000
        kept.close()
        # A reload with files gone bad keeps what serves.
        live_key.write_text("not a key")
        running.signal(signal.SIGHUP)
        running.wait_for("TLS")
        running.wait_for(r"(not reloaded|Not reloading)")
        assert peer_subject(port) == "after"
    finally:
        running.stop()


def test_the_proxy_protocol_header_comes_before_the_handshake(app_dir, certs):
    running = start(app_dir, certs, "--proxy-protocol")
    try:
        with socket.create_connection(("127.0.0.1", running.port), timeout=TIMEOUT) as sock:
            sock.sendall(b"PROXY TCP4 198.51.100.7 10.0.0.1 4242 443\r\n")
            with context(certs).wrap_socket(sock, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                response = http.client.HTTPResponse(tls)
                response.begin()
                answer = json.loads(response.read())
        assert answer["remote"] == ["198.51.100.7", "4242"]
        assert answer["https"] == "on"
    finally:
        running.stop()


@pytest.mark.parametrize("options, message", [
    (["--keyfile", "{encrypted_key}"], "encrypted"),
    (["--keyfile", "{other_key}"], "does not go with"),
    (["--keyfile", "{missing}"], "cannot read it"),
    (["--keyfile", "{ca}"], "no PEM private key"),
    (["--keyfile", "{key}", "--cert-reqs", "required"], "needs --ca-certs"),
    (["--keyfile", "{key}", "--ca-certs", "{key}", "--cert-reqs", "required"], "certificate"),
])
def test_tls_settings_that_cannot_work_are_one_line_and_status_2(certs, tmp_path, options,
                                                                   message):
    paths = {name: str(getattr(certs, name)) for name in ("encrypted_key", "other_key", "ca",
                                                           "key")}
    paths["missing"] = str(tmp_path / "missing.key")
    args = [sys.executable, "-m", "wsgiref_rs", "tlsapp:app", "--bind", "127.0.0.1:0",
            "--certfile", str(certs.cert), *(o.format(**paths) for o in options)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT,
                          env=own_environ(), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "TLS" in lines[0], done.stderr


def test_the_tls_options_without_a_certificate_are_refused(tmp_path):
    for options in (["--keyfile", "k.pem"], ["--cert-reqs", "optional"], ["--ca-certs", "c"]):
        done = subprocess.run([sys.executable, "-m", "wsgiref_rs", "app:app", *options],
                              capture_output=True, text=True, timeout=TIMEOUT,
                              env=own_environ(), cwd=tmp_path)
        assert done.returncode == 2 and "need certfile" in done.stderr, done.stderr


def test_handle_one_serves_one_request_over_tls(certs):
    from wsgiref_rs import _native

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "5")])
        return [environ["wsgi.url_scheme"].encode()]

    listener = socket.create_server(("127.0.0.1", 0))
    engine = _native.Engine(listener.fileno(), app, {"SERVER_NAME": "x", "SERVER_PORT": "0"},
                            "t/1", certfile=str(certs.cert), keyfile=str(certs.key))
    got = {}

    def client():
        conn = connection(listener.getsockname()[1], context(certs))
        conn.request("GET", "/")
        got["body"] = conn.getresponse().read()
        conn.close()

    thread = threading.Thread(target=client)
    thread.start()
    assert engine.handle_one(timeout=TIMEOUT)
    thread.join(TIMEOUT)
    listener.close()
    assert got["body"] == b"https"
    assert engine.reload_tls() is True


def test_make_server_with_its_socket_wrapped_by_pythons_ssl_serves_https_as_the_stdlib(certs):
    """The recipe for HTTPS with wsgiref wraps the listening socket in ``ssl``: the engine cannot
    speak on such a socket, so the compatible path serves it, as the standard library does."""
    from wsgiref_rs.simple_server import make_server

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"over python's ssl"]

    server = make_server("127.0.0.1", 0, app)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(str(certs.cert), str(certs.key))
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        conn = connection(server.server_port, context(certs))
        conn.request("GET", "/")
        assert conn.getresponse().read() == b"over python's ssl"
        conn.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)
    assert not thread.is_alive()
