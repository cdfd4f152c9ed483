"""wsgiref_rs.handlers against the standard library's wsgiref.handlers, byte for byte.

Every scenario runs the same app through the stdlib's handler class and ours, over in-memory
streams, and compares what reached the client, what reached the error stream, what the handler
raised and what hooks saw. Subclass and instance overrides of each hook must change the outcome
the same way they change CPython's.
"""

import ast
import io
import re
import subprocess
import sys
import warnings
import wsgiref.handlers as std_handlers
import wsgiref.util as std_util

import pytest
from examples import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsgiref_rs.handlers as our_handlers
import wsgiref_rs.util as our_util

MODULES = {"stdlib": std_handlers, "ours": our_handlers}
DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")


def base_environ(**extra):
    env = {"SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET", "PATH_INFO": "/p"}
    env.update(extra)
    std_util.setup_testing_defaults(env)
    return env


def traceback_summary(text):
    """The parts of a printed traceback that do not depend on file paths and frames."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ()
    return (lines[0].startswith("Traceback"), lines[-1])


def run(module, app, *, cls="SimpleHandler", mixin=None, environ=None, stdout=None, attrs=None):
    """Runs `app` on a handler of `module`; returns everything observable, normalised."""
    base = getattr(module, cls)
    handler_cls = type("H", (mixin, base), {}) if mixin else base
    env = environ if environ is not None else base_environ()
    out = stdout if stdout is not None else io.BytesIO()
    err = io.StringIO()
    handler = handler_cls(io.BytesIO(b"request body"), out, err, dict(env))
    for name, value in (attrs or {}).items():
        setattr(handler, name, value)
    handler.log = []
    raised = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            handler.run(app)
        except BaseException as e:  # noqa: BLE001 - we compare whatever escapes
            raised = (type(e).__name__, str(e))
    written = out.getvalue() if hasattr(out, "getvalue") else None
    if written is not None:
        written = DATE.sub(b"Date: <date>\r\n", written)
    return {
        "written": written,
        "errors": traceback_summary(err.getvalue()),
        "raised": raised,
        "log": [DATE.sub(b"Date: <date>\r\n", x) if isinstance(x, bytes) else x
                for x in handler.log],
        "warnings": sorted({(w.category.__name__, str(w.message)) for w in caught}),
        "state": (handler.status, handler.headers_sent, handler.bytes_sent,
                  type(handler.result).__name__),
    }


def both(app, **kw):
    results = {name: run(module, app, **kw) for name, module in MODULES.items()}
    assert results["ours"] == results["stdlib"]
    return results["ours"]


# --- applications -----------------------------------------------------------------------------


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!"]


def chunks(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
    return [b"one ", b"two ", b"", b"three"]


def generator(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"a"
    yield b"b"


def empty(environ, start_response):
    start_response("204 No Content", [])
    return []


def uses_write(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written ")
    write(b"twice ")
    return [b"then returned"]


def raises_before_start(environ, start_response):
    raise ValueError("before start_response")


def raises_after_start(environ, start_response):
    start_response("200 OK", [])
    raise ValueError("after start_response")


def raises_mid_body(environ, start_response):
    start_response("200 OK", [])
    yield b"first"
    raise ValueError("mid body")


def keyboard_interrupt(environ, start_response):
    raise KeyboardInterrupt


def exc_info_after_headers(environ, start_response):
    write = start_response("200 OK", [])
    write(b"sent")
    try:
        raise RuntimeError("late")
    except RuntimeError:
        start_response("500 Oops", [], sys.exc_info())
    return [b"never"]


def exc_info_before_headers(environ, start_response):
    start_response("200 OK", [("X-First", "1")])
    try:
        raise RuntimeError("early")
    except RuntimeError:
        start_response("500 Oops", [("X-Second", "2")], sys.exc_info())
    return [b"replaced"]


def start_twice(environ, start_response):
    start_response("200 OK", [])
    start_response("200 OK", [])
    return []


def status_app(status, headers=()):
    def app(environ, start_response):
        start_response(status, list(headers))
        return [b"x"]

    return app


def str_chunk(environ, start_response):
    start_response("200 OK", [])
    return ["not bytes"]


def bytearray_chunk(environ, start_response):
    start_response("200 OK", [])
    return [bytearray(b"not bytes")]


def content_length_given(environ, start_response):
    start_response("200 OK", [("Content-Length", "6")])
    return [b"abc", b"def"]


def own_date_and_server(environ, start_response):
    start_response("200 OK", [("Date", "yesterday"), ("Server", "mine")])
    return [b"x"]


class ClosingResult:
    closed = []

    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def close(self):
        ClosingResult.closed.append(len(self.items))


def closing(environ, start_response):
    start_response("200 OK", [])
    return ClosingResult([b"c1", b"c2"])


def file_wrapper(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](io.BytesIO(b"0123456789" * 2000), 4096)


def echo_environ(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    keys = sorted(k for k in environ
                  if k.startswith("wsgi.") or k in ("SERVER_SOFTWARE", "X_EXTRA"))
    described = []
    for k in keys:
        v = environ[k]
        if k in ("wsgi.input", "wsgi.errors", "wsgi.file_wrapper"):
            v = type(v).__name__
        described.append(f"{k}={v!r}")
    described.append("input=" + repr(environ["wsgi.input"].read()))
    return ["\n".join(described).encode()]


SCENARIOS = [
    hello, chunks, generator, empty, uses_write, raises_before_start, raises_after_start,
    raises_mid_body, keyboard_interrupt, exc_info_after_headers, exc_info_before_headers,
    start_twice, str_chunk, bytearray_chunk, content_length_given, own_date_and_server, closing,
    file_wrapper, echo_environ,
    status_app("200"), status_app("20X OK"), status_app("200OK"), status_app(b"200 OK"),
    status_app(200), status_app("404 Not Found"), status_app("²00 Superscript"),
    status_app("200 Ünïcödé"), status_app("200 \u0100 not latin-1"),
    status_app("200 OK", [("Connection", "close")]), status_app("200 OK", [("Keep-Alive", "1")]),
    status_app("200 OK", [(b"X", "y")]), status_app("200 OK", [("X", 1)]),
    status_app("200 OK", [("X", "y", "z")]), status_app("200 OK", ["XY"]),
    status_app("200 OK", [("X-\u0100", "y")]),
]


@pytest.mark.parametrize("app", SCENARIOS, ids=lambda a: getattr(a, "__name__", ""))
@pytest.mark.parametrize("cls", ["SimpleHandler", "BaseCGIHandler"])
def test_scenario_matches_stdlib(app, cls):
    ClosingResult.closed.clear()
    both(app, cls=cls)


@pytest.mark.parametrize("app", [hello, chunks, raises_before_start, uses_write, echo_environ])
@pytest.mark.parametrize(
    "attrs",
    [
        {"http_version": "1.1"},
        {"server_software": "Test/1.0"},
        {"origin_server": False},
        {"wsgi_file_wrapper": None},
        {"error_status": "503 Busy", "error_headers": [("X-E", "1")], "error_body": b"busy"},
        {"traceback_limit": 0},
        {"wsgi_version": (1, 1), "wsgi_run_once": True, "wsgi_multithread": False},
        {"os_environ": {"X_EXTRA": "from os_environ"}},
    ],
    ids=repr,
)
def test_configuration_attributes_match_stdlib(app, attrs):
    both(app, attrs=attrs)


@pytest.mark.parametrize("protocol", ["HTTP/0.9", "http/0.9", "HTTP/1.0", "HTTP/1.1"])
def test_client_protocols(protocol):
    out = both(hello, environ=base_environ(SERVER_PROTOCOL=protocol))
    assert out["written"].startswith(b"Hello") == (protocol.upper() == "HTTP/0.9")


def test_closing_result_is_closed_once():
    ClosingResult.closed.clear()
    run(our_handlers, closing)
    assert ClosingResult.closed == [2]


# --- hooks: an override changes the outcome the same way for both -------------------------------


class RecordWrite:
    def _write(self, data):
        self.log.append(bytes(data))
        self.stdout.write(data)


class CountFlush:
    def _flush(self):
        self.log.append("flush")


class OtherStdin:
    def get_stdin(self):
        return io.BytesIO(b"replaced stdin")


class OtherStderr:
    def get_stderr(self):
        self.log.append("get_stderr")
        return self.stderr


class ExtraCgiVars:
    def add_cgi_vars(self):
        super().add_cgi_vars()
        self.environ["X_EXTRA"] = "added"


class CustomErrorOutput:
    def error_output(self, environ, start_response):
        start_response("599 Custom", [("X-Custom", "1")], sys.exc_info())
        return [b"custom error page"]


class RecordException:
    def log_exception(self, exc_info):
        self.log.append(("logged", exc_info[0].__name__, str(exc_info[1])))


class SwallowError:
    def handle_error(self):
        self.log.append(("handled", sys.exc_info()[0].__name__))


class SendFile:
    def sendfile(self):
        self.log.append("sendfile")
        if not self.headers_sent:
            self.send_headers()
        self._write(b"<sent by sendfile>")
        return True


class HttpsScheme:
    def get_scheme(self):
        return "https"


class ExtendSetup:
    def setup_environ(self):
        super().setup_environ()
        self.environ["X_EXTRA"] = "setup"


class ExtraHeader:
    def cleanup_headers(self):
        super().cleanup_headers()
        self.headers["X-Cleaned"] = "yes"


class RecordClose:
    def close(self):
        self.log.append(("close", self.status))
        super().close()


class CustomPreamble:
    def send_preamble(self):
        self._write(b"PREAMBLE\r\n")


class RecordSendHeaders:
    def send_headers(self):
        self.log.append(("send_headers", self.bytes_sent))
        super().send_headers()


class UpperWrite:
    def write(self, data):
        super().write(data.upper())


class TrailerContent:
    def finish_content(self):
        super().finish_content()
        self._write(b"<trailer>")


class TagStartResponse:
    def start_response(self, status, headers, exc_info=None):
        return super().start_response(status, headers + [("X-Tagged", "1")], exc_info)


class NeverFile:
    def result_is_file(self):
        self.log.append("result_is_file")
        return False


class AlwaysModern:
    def client_is_modern(self):
        self.log.append("client_is_modern")
        return True


class NoContentLength:
    def set_content_length(self):
        self.log.append("no content-length")


class LenientStrings:
    def _convert_string_type(self, value, title):
        self.log.append(title)
        return value if isinstance(value, str) else str(value)


class ChunkedFinish:
    def finish_response(self):
        self.log.append("finish_response")
        super().finish_response()


HOOK_NAMES = [
    "setup_environ", "finish_response", "get_scheme", "set_content_length", "cleanup_headers",
    "start_response", "_convert_string_type", "send_preamble", "write", "sendfile",
    "finish_content",
    "close", "send_headers", "result_is_file", "client_is_modern", "log_exception", "handle_error",
    "error_output", "_write", "_flush", "get_stdin", "get_stderr", "add_cgi_vars",
]


def _logging_super(name):
    def hook(self, *args, **kwargs):
        self.log.append(name)
        return getattr(super(SuperEverything, self), name)(*args, **kwargs)

    return hook


# Overrides every hook with one that records the call and defers to the base class: the native
# base methods must then run their own step, not dispatch back to the override.
SuperEverything = type("SuperEverything", (), {name: _logging_super(name) for name in HOOK_NAMES})

HOOK_MIXINS = [SuperEverything,
    RecordWrite, CountFlush, OtherStdin, OtherStderr, ExtraCgiVars, CustomErrorOutput,
    RecordException, SwallowError, SendFile, HttpsScheme, ExtendSetup, ExtraHeader, RecordClose,
    CustomPreamble, RecordSendHeaders, UpperWrite, TrailerContent, TagStartResponse, NeverFile,
    AlwaysModern, NoContentLength, LenientStrings, ChunkedFinish,
]
HOOK_APPS = [hello, chunks, uses_write, raises_before_start, raises_mid_body, file_wrapper,
             echo_environ, status_app("200 OK", [("X", 1)])]


@pytest.mark.parametrize("app", HOOK_APPS, ids=lambda a: getattr(a, "__name__", "status_app"))
@pytest.mark.parametrize("mixin", HOOK_MIXINS, ids=lambda m: m.__name__)
def test_hook_override_matches_stdlib(mixin, app):
    both(app, mixin=mixin)


@pytest.mark.parametrize("mixin", HOOK_MIXINS, ids=lambda m: m.__name__)
def test_hook_override_changes_the_outcome(mixin):
    """Each override must matter: with it, some app's outcome differs from without it."""
    assert any(run(our_handlers, app, mixin=mixin) != run(our_handlers, app) for app in HOOK_APPS)


def test_instance_attribute_overrides_a_hook():
    out = io.BytesIO()
    seen = []
    handler = our_handlers.SimpleHandler(io.BytesIO(), out, io.StringIO(), base_environ())
    handler._write = seen.append
    handler.run(hello)
    assert out.getvalue() == b""
    assert seen[0].startswith(b"HTTP/1.0 200 OK\r\n") and seen[-1] == b"Hello, world!"


def test_class_patched_after_first_use_is_honoured():
    class H(our_handlers.SimpleHandler):
        pass

    assert run(our_handlers, hello, mixin=None)["written"].endswith(b"Hello, world!")
    first = io.BytesIO()
    H(io.BytesIO(), first, io.StringIO(), base_environ()).run(hello)
    H.http_version = "1.1"
    H.send_preamble = lambda self: self._write(b"PATCHED\r\n")
    second = io.BytesIO()
    H(io.BytesIO(), second, io.StringIO(), base_environ()).run(hello)
    assert first.getvalue().startswith(b"HTTP/1.0 200 OK")
    assert second.getvalue().startswith(b"PATCHED\r\n")


# --- streams ----------------------------------------------------------------------------------


class PartialWriter(io.BytesIO):
    def write(self, data):
        return super().write(bytes(data[:5]))


class BrokenPipeWriter:
    def write(self, data):
        raise BrokenPipeError

    def flush(self):
        pass


class ResetWriter(BrokenPipeWriter):
    def write(self, data):
        raise ConnectionResetError


class FailingWriter(BrokenPipeWriter):
    def write(self, data):
        raise OSError("disk full")


@pytest.mark.parametrize("app", [hello, chunks, uses_write])
def test_partial_writes_are_completed_with_a_warning(app):
    results = {n: run(m, app, stdout=PartialWriter()) for n, m in MODULES.items()}
    assert results["ours"] == results["stdlib"]
    warning = ("DeprecationWarning", "SimpleHandler.stdout.write() should not do partial writes")
    assert warning in results["ours"]["warnings"]


@pytest.mark.parametrize("writer", [BrokenPipeWriter, ResetWriter, FailingWriter])
def test_client_disconnects_match_stdlib(writer):
    results = {n: run(m, hello, stdout=writer()) for n, m in MODULES.items()}
    assert results["ours"] == results["stdlib"]


def test_abstract_methods_raise_not_implemented():
    h = our_handlers.BaseHandler()
    for name in ["_flush", "get_stdin", "get_stderr", "add_cgi_vars"]:
        with pytest.raises(NotImplementedError):
            getattr(h, name)()
    with pytest.raises(NotImplementedError):
        h._write(b"x")


def test_public_names_and_class_hierarchy():
    assert our_handlers.__all__ == std_handlers.__all__
    assert issubclass(our_handlers.CGIHandler, our_handlers.BaseCGIHandler)
    assert issubclass(our_handlers.BaseCGIHandler, our_handlers.SimpleHandler)
    assert issubclass(our_handlers.SimpleHandler, our_handlers.BaseHandler)
    for attr in ["wsgi_version", "wsgi_multithread", "wsgi_multiprocess", "wsgi_run_once",
                 "origin_server", "http_version", "server_software", "traceback_limit",
                 "error_status", "error_headers", "error_body", "status", "result", "headers_sent",
                 "headers", "bytes_sent"]:
        our_base, std_base = our_handlers.BaseHandler, std_handlers.BaseHandler
        assert getattr(our_base, attr) == getattr(std_base, attr), attr
    assert our_handlers.BaseHandler.wsgi_file_wrapper is our_util.FileWrapper
    assert our_handlers.CGIHandler.os_environ == {} and our_handlers.CGIHandler.wsgi_run_once


@pytest.mark.parametrize(
    "ts", [0, 1, 784887151, 784887151.99, -1.5, 2**31, 1e11, 253402300799, 253402300800]
)
def test_format_date_time_matches_stdlib(ts):
    assert our_handlers.format_date_time(ts) == std_handlers.format_date_time(ts)


@pytest.mark.parametrize("ts", [float("nan"), float("inf"), "x", None, 1e300])
def test_format_date_time_errors_match_stdlib(ts):
    def outcome(f):
        try:
            return f(ts)
        except Exception as e:  # noqa: BLE001
            return (type(e), str(e))

    assert outcome(our_handlers.format_date_time) == outcome(std_handlers.format_date_time)


def test_read_environ_matches_stdlib(monkeypatch):
    monkeypatch.setenv("HTTP_X_TEST", "caf\u00e9")
    monkeypatch.setenv("REDIRECT_REDIRECT_PATH_INFO", "/\u00fc")
    monkeypatch.setenv("PLAIN", "caf\u00e9")
    assert our_handlers.read_environ() == std_handlers.read_environ()


# --- generated responses ------------------------------------------------------------------------

header_names = st.sampled_from(["Content-Type", "X-Thing", "Set-Cookie", "content-length", "Date",
                                "Server", "Connection", "TE", "X-\u00e9"])
# \x7f is left out: our Headers refuses it, as current CPython does (3.11 accepts it).
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x17F, exclude_characters="\x7f"),
    max_size=12,
)
statuses = st.one_of(
    st.builds(lambda c, r: f"{c} {r}", st.integers(100, 599), st.text(max_size=10)),
    st.text(max_size=8),
)


@settings(max_examples=examples(1500), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(
    status=statuses,
    headers=st.lists(st.tuples(header_names, header_values), max_size=4),
    body=st.lists(st.binary(max_size=20), max_size=4),
    use_write=st.booleans(),
    protocol=st.sampled_from(["HTTP/1.0", "HTTP/1.1", "HTTP/0.9"]),
    cls=st.sampled_from(["SimpleHandler", "BaseCGIHandler"]),
)
def test_generated_responses_match_stdlib(status, headers, body, use_write, protocol, cls):
    def app(environ, start_response):
        write = start_response(status, list(headers))
        if use_write and body:
            write(body[0])
            return body[1:]
        return body

    both(app, environ=base_environ(SERVER_PROTOCOL=protocol), cls=cls)


# --- where CPython's BaseHandler changed between versions -------------------------------------


def test_start_response_after_headers_reraises_as_the_running_version():
    """3.11 on: the exception being handled, itself; 3.9 and 3.10: exc_info[0](exc_info[1])."""
    seen = {}
    for name, module in MODULES.items():

        def app(environ, start_response, name=name):
            write = start_response("200 OK", [])
            write(b"sent")
            original = RuntimeError("late")
            try:
                raise original
            except RuntimeError:
                try:
                    start_response("500 Oops", [], sys.exc_info())
                except RuntimeError as raised:
                    seen[name] = (raised is original, raised.args, raised.__traceback__ is not None)
            return [b""]

        handler = module.SimpleHandler(io.BytesIO(), io.BytesIO(), io.StringIO(), base_environ())
        handler.run(app)
    assert seen["ours"][0] == seen["stdlib"][0] == (sys.version_info >= (3, 11))
    assert seen["ours"][2] and seen["stdlib"][2]
    assert repr(seen["ours"][1]) == repr(seen["stdlib"][1])


class LenientStatus:
    def _validate_status(self, status):
        self.log.append(("_validate_status", status))


def test_validate_status_follows_the_running_version():
    """3.12 added BaseHandler._validate_status (overridable); before, the checks were asserts."""
    has_it = sys.version_info >= (3, 12)
    assert hasattr(std_handlers.BaseHandler, "_validate_status") == has_it
    assert hasattr(our_handlers.BaseHandler, "_validate_status") == has_it
    outcome = both(status_app("20X Not checked"), mixin=LenientStatus)
    if has_it:
        assert outcome["log"] == [("_validate_status", "20X Not checked")]
        assert outcome["written"].startswith(b"HTTP/1.0 20X Not checked\r\n")
    else:
        assert outcome["log"] == []
        assert outcome["written"].startswith(b"HTTP/1.0 500 Internal Server Error\r\n")


OPTIMIZED_STATUS = """
import io, sys, wsgiref.handlers as std, wsgiref_rs.handlers as ours
def app(environ, start_response):
    start_response("20X bad", [("Connection", "close")])
    return [b"x"]
out = []
for module in (std, ours):
    stream = io.BytesIO()
    env = {"REQUEST_METHOD": "GET", "SERVER_NAME": "h", "SERVER_PORT": "80",
           "SERVER_PROTOCOL": "HTTP/1.0"}
    module.SimpleHandler(io.BytesIO(), stream, io.StringIO(), env).run(app)
    out.append(stream.getvalue().split(b"\\r\\n")[0])
print(repr(out))
"""


def test_status_checks_under_python_o_follow_the_running_version():
    """Under -O the header checks (asserts) go in every version; the status is still checked
    from 3.12 on, by _validate_status."""
    proc = subprocess.run(
        [sys.executable, "-O", "-c", OPTIMIZED_STATUS], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    std_line, our_line = ast.literal_eval(proc.stdout)
    assert our_line == std_line
    if sys.version_info >= (3, 12):
        assert std_line == b"HTTP/1.0 500 Internal Server Error"
    else:
        assert std_line == b"HTTP/1.0 20X bad"
