"""wsgiref_rs.handlers' CGI handlers run as real CGI scripts behind real web servers.

Two CGI-capable servers listen on loopback: lighttpd (mod_cgi) and the standard library's own
http.server CGIHTTPRequestHandler.  Each serves pairs of executable Python scripts that differ only
in the implementation they import: ``<kind>_stdlib.py`` runs the app with ``wsgiref.handlers``,
``<kind>_native.py`` with ``wsgiref_rs.handlers`` (kinds: CGIHandler, IISCGIHandler,
BaseCGIHandler).  The same raw HTTP/1.0 request goes to both scripts, and the two raw responses
must be the same bytes once the server's Date and Server lines are dropped and the script's name
("_native" vs "_stdlib", the same length) is made the same.  Errors logged to the script's stderr
are compared too.

lighttpd is installed through apt-get when it is missing (as root, with apt-get); the test skips
only where that cannot be done, and says why.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import debian
import pytest

HERE = Path(__file__).resolve().parent
KINDS = ("CGIHandler", "IISCGIHandler", "BaseCGIHandler")
PREFIX = {"CGIHandler": "cgi", "IISCGIHandler": "iis", "BaseCGIHandler": "base"}
REQUEST_TIMEOUT = 5.0
# Set in the CGI scripts' environment by both servers.  read_environ() leaves the first as the
# platform decoded it and turns the others (request variables) back into bytes-as-latin-1.
EXTRA_ENV = {
    "PLAIN_VAR": "caf\u00e9",
    "SSL_TEST_VAR": "caf\u00e9",
    "REDIRECT_QUERY_STRING": "x=\u00e9",
    "REDIRECT_REDIRECT_HTTPS": "on",
}


# ----------------------------------------------------------------------------------------------
# CGI scripts, HTTP client


def write_scripts(cgi_bin: Path) -> None:
    """One executable script per (handler kind, implementation), run by this interpreter."""
    cgi_bin.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        for impl in ("stdlib", "native"):
            script = cgi_bin / f"{PREFIX[kind]}_{impl}.py"
            script.write_text(
                f"#!{sys.executable}\n"
                "import sys\n"
                f"sys.path.insert(0, {str(HERE)!r})\n"
                "import cgi_support\n"
                f"cgi_support.main({impl!r}, {kind!r})\n"
            )
            script.chmod(0o755)


def raw_request(port, method, target, headers=(), body=b""):
    """Send one HTTP/1.0 request and read the whole response until the server closes."""
    lines = [f"{method} {target} HTTP/1.0".encode("ascii"), f"Host: 127.0.0.1:{port}".encode()]
    lines += list(headers)
    if body or method == "POST":
        lines.append(b"Content-Length: %d" % len(body))
    request = b"\r\n".join(lines) + b"\r\n\r\n" + body
    deadline = time.monotonic() + REQUEST_TIMEOUT
    with socket.create_connection(("127.0.0.1", port), timeout=REQUEST_TIMEOUT) as sock:
        sock.sendall(request)
        received = []
        while True:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                break
            received.append(data)
    return b"".join(received)


def normalized(response: bytes) -> bytes:
    """The response without the server's Date and Server lines (they change between requests)."""
    head, sep, body = response.partition(b"\r\n\r\n")
    kept = [
        line for line in head.split(b"\r\n") if not line.lower().startswith((b"date:", b"server:"))
    ]
    return b"\r\n".join(kept) + sep + body


def split_response(response: bytes):
    head, _, body = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def wait_for_port(port, proc, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(proc):
    """End a server we started, by its pid."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class Server:
    def __init__(self, name, port, stderr_log: Path):
        self.name = name
        self.port = port
        self.stderr_log = stderr_log

    def log_size(self):
        return self.stderr_log.stat().st_size if self.stderr_log.exists() else 0

    def log_since(self, offset, until=b"", timeout=3.0):
        """What the CGI scripts wrote to stderr after ``offset``; waits for ``until`` to show."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.stderr_log.read_bytes()[offset:] if self.stderr_log.exists() else b""
            if until in data or time.monotonic() > deadline:
                return data
            time.sleep(0.05)


# ----------------------------------------------------------------------------------------------
# Server 1: lighttpd with mod_cgi


@pytest.fixture(scope="session")
def lighttpd_binary():
    """lighttpd's path, installed with apt-get (as root) when it is missing."""
    return debian.program("lighttpd", "lighttpd")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lighttpd_config(root: Path, port: int) -> str:
    lines = [
        'server.modules = ("mod_cgi", "mod_setenv")',
        f'server.document-root = "{root / "htdocs"}"',
        'server.bind = "127.0.0.1"',
        f"server.port = {port}",
        f'server.errorlog = "{root / "error.log"}"',
        # CGI scripts' stderr, unfiltered, in a file of its own.
        f'server.breakagelog = "{root / "cgi-stderr.log"}"',
        f'server.upload-dirs = ("{root}")',
        'cgi.assign = (".py" => "")',
        # Variables that did not come from the request, and some that did.
        "setenv.add-environment = ("
        + ", ".join(f'"{k}" => "{v}"' for k, v in EXTRA_ENV.items())
        + ")",
        # Let percent-encoded bytes that are not UTF-8 (%FF) through to the script.
        'server.http-parseopts = ("url-invalid-utf8-reject" => "disable")',
        'debug.log-request-header-on-error = "enable"',
    ]
    # As root, lighttpd keeps running as root when no server.username is given; the scripts
    # must run as a user who can reach the virtual environment's interpreter, so none is given.
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def lighttpd_server(lighttpd_binary, tmp_path_factory):
    root = tmp_path_factory.mktemp("lighttpd")
    write_scripts(root / "htdocs" / "cgi-bin")
    conf = root / "lighttpd.conf"
    for _attempt in range(3):  # the port picked may be taken before lighttpd binds it
        port = free_port()
        conf.write_text(lighttpd_config(root, port))
        check = subprocess.run(
            [lighttpd_binary, "-tt", "-f", str(conf)],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, f"lighttpd rejects its config:\n{check.stdout}{check.stderr}"
        proc = subprocess.Popen(
            [lighttpd_binary, "-D", "-f", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            listening = wait_for_port(port, proc, "lighttpd")
        except BaseException:
            stop(proc)
            raise
        if listening:
            break
    else:
        log = (root / "error.log").read_text(errors="replace")
        raise AssertionError(f"lighttpd exited at start:\n{log}")
    try:
        yield Server("lighttpd", port, root / "cgi-stderr.log")
    finally:
        stop(proc)


# ----------------------------------------------------------------------------------------------
# Server 2: the standard library's http.server CGIHTTPRequestHandler


@pytest.fixture(scope="session")
def httpserver_cgi(tmp_path_factory):
    import http.server

    if not hasattr(http.server, "CGIHTTPRequestHandler"):
        pytest.skip(f"http.server has no CGIHTTPRequestHandler in Python {sys.version.split()[0]}")
    root = tmp_path_factory.mktemp("httpserver")
    write_scripts(root / "cgi-bin")
    stderr_log = root / "stderr.log"
    with open(stderr_log, "ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-W", "ignore", str(HERE / "cgi_support.py"), "serve-http", str(root)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            # http.server hands its own environment on to the scripts: keep it small and known.
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **EXTRA_ENV},
        )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 10.0)
        line = proc.stdout.readline() if ready else b""
        assert line.strip().isdigit(), f"http.server did not report its port: {line!r}"
        port = int(line)
        assert wait_for_port(port, proc, "http.server"), "http.server exited at start"
        yield Server("http.server", port, stderr_log)
    finally:
        stop(proc)
        proc.stdout.close()


@pytest.fixture(params=["lighttpd", "http.server"], scope="session")
def server(request):
    if request.param == "lighttpd":
        return request.getfixturevalue("lighttpd_server")
    return request.getfixturevalue("httpserver_cgi")


# ----------------------------------------------------------------------------------------------
# The cases

NON_ASCII_PATH = "/caf%C3%A9/%E2%82%AC%20x/%FF"
QUERY = "?q=caf%C3%A9&a=1&b=%FF+x&empty="

# (id, handler kind, method, path after the script, extra headers, body,
#  bytes the stdlib's response must contain, bytes its stderr must contain)
# fmt: off
CASES = [
    ("echo-get", "CGIHandler", "GET", "/echo" + NON_ASCII_PATH + QUERY,
     [b"User-Agent: agent caf\xe9", b"X-Test: x \xe9 y"], b"",
     [b"202 Accepted", b"REQUEST_METHOD='GET'", b"wsgi.run_once=True",
      b"wsgi.multithread=False", b"wsgi.multiprocess=True", b"wsgi.url_scheme='http'",
      b"QUERY_STRING='q=caf%C3%A9&a=1&b=%FF+x&empty='", b"X-Multi: one\r\nX-Multi: two",
      b"PATH_INFO='/echo/caf\xc3\x83\xc2\xa9/",
      b"PLAIN_VAR='caf\xc3\xa9'", b"SSL_TEST_VAR='caf\xc3\x83\xc2\xa9'",
      b"REDIRECT_QUERY_STRING='x=\xc3\x83\xc2\xa9'", b"REDIRECT_REDIRECT_HTTPS='on'"], None),
    ("echo-post", "CGIHandler", "POST", "/echo/post",
     [b"Content-Type: application/x-www-form-urlencoded"], b"name=caf%C3%A9&raw=\xff\x00end",
     [b"202 Accepted", b"REQUEST_METHOD='POST'", b"CONTENT_LENGTH='24'",
      b"body=b'name=caf%C3%A9&raw=\\xff\\x00end'"], None),
    ("echo-head", "CGIHandler", "HEAD", "/echo/head", [], b"", [b"202 Accepted"], None),
    ("echo-root", "CGIHandler", "GET", "", [], b"", [b"PATH_INFO="], None),
    ("chunks", "CGIHandler", "GET", "/chunks", [], b"", [b"first\nsecond\nthird third"], None),
    ("generator", "CGIHandler", "GET", "/generator", [], b"",
     [b"\x00\x01\x01\x02\x02\x02\x03\x03\x03\x03\x04\x04\x04\x04\x04"], None),
    ("length", "CGIHandler", "GET", "/length", [], b"", [b"hello world"], None),
    ("single", "CGIHandler", "GET", "/single", [], b"",
     [b"Content-Length: 11", b"<p>caf\xe9</p>"], None),
    ("empty", "CGIHandler", "GET", "/empty", [], b"", [b"204"], None),
    ("writer", "CGIHandler", "GET", "/writer", [], b"",
     [b"X-Writer: yes", b"written one\nwritten two\nreturned\n"], None),
    ("filewrapper", "CGIHandler", "GET", "/filewrapper", [], b"", [bytes(range(256)) * 40], None),
    ("error", "CGIHandler", "GET", "/error", [], b"",
     [b"500", b"A server error occurred.  Please contact the administrator."],
     b"ValueError: boom from the app"),
    ("late-error", "CGIHandler", "GET", "/late_error", [], b"", [b"partial output\n"],
     b"RuntimeError: late failure"),
    ("hop-by-hop", "CGIHandler", "GET", "/hop_by_hop", [], b"", [b"500"],
     b"AssertionError: Hop-by-hop header"),
    ("bad-status", "CGIHandler", "GET", "/bad_status", [], b"", [b"500"], b"AssertionError"),
    ("exc-info-restart", "CGIHandler", "GET", "/exc_info_restart", [], b"",
     [b"503", b"replaced response\n"], None),
    ("iis-echo", "IISCGIHandler", "GET", "/echo" + NON_ASCII_PATH + QUERY, [], b"",
     [b"PATH_INFO='/echo/caf", b"wsgi.run_once=True"], None),
    # IIS repeats SCRIPT_NAME at the front of PATH_INFO; IISCGIHandler strips it.
    ("iis-duplicated-path", "IISCGIHandler", "GET", "/cgi-bin/iis_{impl}.py/echo/x%C3%A9", [], b"",
     [b"PATH_INFO='/echo/x"], None),
    ("iis-error", "IISCGIHandler", "POST", "/error", [], b"body", [b"500"],
     b"ValueError: boom from the app"),
    ("base-echo", "BaseCGIHandler", "POST", "/echo" + NON_ASCII_PATH + QUERY, [], b"post body",
     [b"wsgi.run_once=False", b"wsgi.multithread=True", b"wsgi.multiprocess=False",
      b"body=b'post body'"], None),
    ("base-writer", "BaseCGIHandler", "GET", "/writer", [], b"", [b"written two"], None),
    ("base-error", "BaseCGIHandler", "GET", "/error", [], b"", [b"500"],
     b"ValueError: boom from the app"),
]
# fmt: on


def app_traceback(log: bytes) -> list:
    """The traceback's lines without the handler's own frames (Python ones in the stdlib, none
    for the native core): its header, the app's frames, and the exception line."""
    kept, in_app_frame = [], False
    for line in log.splitlines():
        if line.startswith(b"  File "):
            in_app_frame = b"cgi_support.py" in line
            if in_app_frame:
                kept.append(line)
        elif line.startswith(b"    "):
            if in_app_frame:
                kept.append(line)
        elif line.startswith((b"Traceback ", b"During handling", b"The above exception")) or (
            line and not line.startswith((b" ", b"127.0.0.1 - "))
        ):
            in_app_frame = False
            kept.append(line)
    return kept


@pytest.mark.parametrize(
    "kind, method, path, headers, body, expected, expected_stderr",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_native_cgi_script_answers_like_the_stdlib_one(
    server, kind, method, path, headers, body, expected, expected_stderr
):
    responses, logs = {}, {}
    for impl in ("stdlib", "native"):
        script = f"/cgi-bin/{PREFIX[kind]}_{impl}.py"
        offset = server.log_size()
        raw = raw_request(server.port, method, script + path.format(impl=impl), headers, body)
        # Same length on purpose: the script's own name is the only thing that should differ.
        responses[impl] = normalized(raw).replace(b"_native", b"_stdlib")
        logs[impl] = server.log_since(offset, until=expected_stderr or b"")

    std, ours = responses["stdlib"], responses["native"]
    for needle in expected:  # the setup works: the stdlib's script did what the app says
        if method == "HEAD" and needle not in std.partition(b"\r\n\r\n")[0]:
            continue
        assert needle in std, (
            f"{server.name}: the stdlib script's response lacks {needle!r}:\n{std!r}"
        )
    assert ours == std, f"{server.name}: responses differ\n stdlib: {std!r}\n native: {ours!r}"
    if expected_stderr is not None:
        for impl in ("stdlib", "native"):
            assert b"Traceback (most recent call last):" in logs[impl], (impl, logs[impl])
            assert expected_stderr in logs[impl], (impl, logs[impl])
        assert any(b"cgi_support.py" in line for line in app_traceback(logs["stdlib"])), logs
        assert app_traceback(logs["native"]) == app_traceback(logs["stdlib"]), logs
    else:
        for impl in ("stdlib", "native"):
            assert b"Traceback" not in logs[impl], (impl, logs[impl])


def test_head_response_has_the_headers(server):
    raw = raw_request(server.port, "HEAD", "/cgi-bin/cgi_native.py/single")
    lines, body = split_response(raw)
    assert b"Content-Type: text/html; charset=latin-1" in lines, raw
    assert b"Content-Length: 11" in lines, raw
    # lighttpd drops a HEAD response's body; http.server passes the script's output through.
    assert body == (b"" if server.name == "lighttpd" else b"<p>caf\xe9</p>"), raw


def test_status_line_carries_the_apps_status(server):
    raw = raw_request(server.port, "GET", "/cgi-bin/cgi_native.py/echo")
    lines, _ = split_response(raw)
    if server.name == "lighttpd":
        # lighttpd turns the CGI Status header into the response's status line (with its own
        # reason phrase).
        assert lines[0] == b"HTTP/1.0 202 Accepted", raw
    else:
        # http.server passes the script's output through after its own status line.
        assert b"Status: 202 Accepted For Echo" in lines, raw
