"""``--access-logformat``: gunicorn's atoms and ``json``, in-process on made-up requests, and from
the command line on real ones."""

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from wsgiref_rs.server.access_format import CLF, JSON_KEYS, AccessFormat, FormatError, names
from wsgiref_rs.server.config import Config, ConfigError

GUNICORN_DEFAULT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
NOW = 1_790_000_000.0  # a fixed moment, so that %(t)s is known
REQUEST_HEADERS = [("Host", "example.org"), ("User-Agent", "curl/8.0"),
                   ("Referer", "https://example.org/from"), ("X-Request-Id", "abc-123"),
                   ("Authorization", "Basic " + base64.b64encode(b"alice:secret").decode())]
RESPONSE_HEADERS = [("Content-Type", "text/plain"), ("X-Served-By", "wsgiref-rs")]


def line(fmt, requestline="GET /path/x?q=1&r=2 HTTP/1.1", code="200", size=13,
         client=("192.0.2.7", 51000), micros=1_234_567, request_headers=REQUEST_HEADERS):
    details = (micros, request_headers, RESPONSE_HEADERS)
    return AccessFormat(fmt).line(requestline, code, size, client, details, NOW)


def test_gunicorn_s_default_format():
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(NOW))
    assert line(GUNICORN_DEFAULT) == (
        f'192.0.2.7 - alice [{stamp}] "GET /path/x?q=1&r=2 HTTP/1.1" 200 13 '
        f'"https://example.org/from" "curl/8.0"'
    )


@pytest.mark.parametrize("atom, value", [
    ("h", "192.0.2.7"), ("l", "-"), ("u", "alice"), ("r", "GET /path/x?q=1&r=2 HTTP/1.1"),
    ("m", "GET"), ("U", "/path/x"), ("q", "q=1&r=2"), ("H", "HTTP/1.1"), ("s", "200"),
    ("B", "13"), ("b", "13"), ("f", "https://example.org/from"), ("a", "curl/8.0"),
    ("T", "1"), ("M", "1234"), ("D", "1234567"), ("L", "1.234567"),
    ("p", f"<{os.getpid()}>"), ("{x-request-id}i", "abc-123"), ("{X-Request-ID}i", "abc-123"),
    ("{x-served-by}o", "wsgiref-rs"), ("{content-type}o", "text/plain"),
    ("{missing}i", "-"), ("{HOME}e", os.environ.get("HOME", "-")), ("nonsense", "-"),
])
def test_each_atom(atom, value):
    assert line(f"%({atom})s") == value


def test_an_empty_body_and_no_query_are_dashes_and_b_is_zero():
    assert line("%(b)s %(B)s %(q)s", requestline="GET / HTTP/1.1", size=0) == "- 0 -"


def test_a_unix_peer_and_a_bad_authorization_are_dashes():
    headers = [("Authorization", "Basic !!!not-base64")]
    assert line("%(h)s %(u)s", client=("", 0), request_headers=headers) == "- -"


def test_what_the_client_sent_cannot_make_another_line():
    headers = [("User-Agent", 'evil"\nGET /fake HTTP/1.1')]
    out = line('"%(a)s"', request_headers=headers)
    assert "\n" not in out
    assert out == '"evil\\"\\x0aGET /fake HTTP/1.1"'


def test_json_is_one_object_per_line_with_every_key():
    out = line("json")
    assert "\n" not in out
    entry = json.loads(out)
    assert tuple(entry) == JSON_KEYS
    assert entry["remote_addr"] == "192.0.2.7"
    assert entry["request"] == "GET /path/x?q=1&r=2 HTTP/1.1"
    assert (entry["method"], entry["path"], entry["query"], entry["protocol"]) == (
        "GET", "/path/x", "q=1&r=2", "HTTP/1.1")
    assert (entry["status"], entry["bytes"], entry["duration_us"]) == (200, 13, 1_234_567)
    assert (entry["referer"], entry["user_agent"], entry["pid"]) == (
        "https://example.org/from", "curl/8.0", os.getpid())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", entry["time"])


@pytest.mark.parametrize("bad", ["", "%(h)s %(s)d", "%(h)", 5])
def test_a_format_that_cannot_work_is_refused(bad):
    with pytest.raises(FormatError):
        AccessFormat(bad)
    with pytest.raises(ConfigError, match="access_logformat"):
        Config(app="m:app", access_logformat=bad).check()


def test_names_lists_the_atoms_a_format_uses():
    assert names(GUNICORN_DEFAULT) == ["h", "l", "u", "t", "r", "s", "b", "f", "a"]


# -- from the command line ----------------------------------------------------------------------

APP = '''
def app(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-Served-By", "test")])
    return [b"made"]
'''


def serve_and_log(tmp_path, fmt):
    """Start wsgiref-rs with ``--access-logformat fmt``, send one request, stop it; its stdout."""
    (tmp_path / "formatapp.py").write_text(APP)
    options = [] if fmt is None else ["--access-logformat", fmt]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsgiref_rs", "formatapp:app", "--bind", "127.0.0.1:0",
         *options, "--timeout", "0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        for _ in range(100):
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", proc.stderr.readline())
            if found:
                break
        else:
            raise AssertionError("the server did not start")
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", int(found.group(1)), timeout=10)
        conn.request("GET", "/here?x=1", headers={"User-Agent": "tester/1",
                                                  "X-Request-Id": "r-1"})
        response = conn.getresponse()
        assert (response.status, response.read()) == (201, b"made")
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    return out.splitlines()


def test_the_command_line_logs_in_the_format_given(tmp_path):
    [out] = serve_and_log(tmp_path, '%(h)s "%(r)s" %(s)s %(b)s %(D)s "%({user-agent}i)s" '
                                    '%({x-request-id}i)s %({x-served-by}o)s')
    match = re.fullmatch(r'127\.0\.0\.1 "GET /here\?x=1 HTTP/1\.1" 201 4 (\d+) "tester/1" r-1 test',
                         out)
    assert match, out
    assert 0 < int(match.group(1)) < 10_000_000


def test_the_command_line_logs_json(tmp_path):
    [out] = serve_and_log(tmp_path, "json")
    entry = json.loads(out)
    assert (entry["method"], entry["path"], entry["query"], entry["status"], entry["bytes"],
            entry["user_agent"], entry["remote_addr"]) == (
        "GET", "/here", "x=1", 201, 4, "tester/1", "127.0.0.1")
    assert entry["duration_us"] > 0


def test_the_common_log_format_as_a_format_is_the_default_line(tmp_path):
    clf = r'127\.0\.0\.1 - - \[[^]]+\] "GET /here\?x=1 HTTP/1\.1" 201 4'
    [default] = serve_and_log(tmp_path, None)
    [given] = serve_and_log(tmp_path, CLF)
    assert re.fullmatch(clf, default), default
    assert re.fullmatch(clf, given), given
