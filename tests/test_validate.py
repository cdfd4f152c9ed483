"""wsgiref_rs.validate against the standard library's wsgiref.validate.

The same good and bad applications, environs and start_response calls go through both
validators; the outcome (return values, exception type and message, warnings, what reached the
server, how the environ was changed) must be the same. Plus generated inputs for every check
function.
"""

import gc
import inspect
import io
import re
import sys
import warnings
import wsgiref.validate as std
from wsgiref.util import setup_testing_defaults

import pytest
from examples import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsgiref_rs.validate as ours

DIFF_SETTINGS = settings(
    max_examples=examples(10_000),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

CHECKS = [
    "check_environ",
    "check_status",
    "check_headers",
    "check_content_type",
    "check_exc_info",
    "check_iterator",
    "check_input",
    "check_errors",
]
WRAPPERS = [
    "InputWrapper",
    "ErrorWrapper",
    "WriteWrapper",
    "PartialIteratorWrapper",
    "IteratorWrapper",
]


# --------------------------------------------------------------------------------------------
# Harness


ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def unaddressed(value):
    """Object addresses in reprs differ between two runs: blank them out."""
    if isinstance(value, str):
        return ADDRESS.sub(" at 0x?", value)
    if isinstance(value, tuple):
        return tuple(unaddressed(v) for v in value)
    return value


def outcome_of(func, *args):
    """(result or exception type/args/str, warnings) of calling ``func``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ("ok", func(*args))
        except Exception as exc:  # noqa: BLE001 (the exception is the result)
            result = ("raise", type(exc).__name__, unaddressed(exc.args), unaddressed(str(exc)))
    return result, [(w.category.__name__, str(w.message)) for w in caught]


def good_environ(**overrides):
    environ = {}
    setup_testing_defaults(environ)
    environ["QUERY_STRING"] = ""
    environ.update(overrides)
    return environ


def describe(value):
    """A comparable description of objects whose classes differ between the two modules."""
    if isinstance(value, (std.InputWrapper, ours.InputWrapper)):
        return ("InputWrapper", describe(value.input))
    if isinstance(value, (std.ErrorWrapper, ours.ErrorWrapper)):
        return ("ErrorWrapper", describe(value.errors))
    if isinstance(value, (str, bytes, int, float, tuple, list, type(None))):
        return value
    return type(value).__name__


def run_app(mod, app, environ=None, consume="all", start_response=None, call_args=None):
    """Run ``mod.validator(app)`` like a server would; return everything observable."""
    environ = good_environ() if environ is None else environ
    events = []

    def server_start_response(status, headers, exc_info=None):
        events.append(("start_response", status, headers, exc_info is not None))
        return lambda data: events.append(("write", data))

    opened = []

    def run():
        lint = mod.validator(app)
        args = (
            call_args
            if call_args is not None
            else (environ, start_response or server_start_response)
        )
        iterator = lint(*args)
        opened.append(iterator)
        body = []
        if consume == "all":
            body.extend(iterator)
            iterator.close()
            if hasattr(iterator, "closed"):
                events.append(("closed", iterator.closed))
        elif consume == "one":
            body.append(next(iter(iterator)))
            iterator.close()
            body.append(next(iterator))  # after close
        elif consume == "none":
            iterator.close()
        return body

    unraisable = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append((type(u.exc_value).__name__, u.exc_value.args))
    try:
        result, caught = outcome_of(run)
        # Close what a failed run left open, as a server would (unclosed ones are tested apart).
        for iterator in opened:
            if getattr(iterator, "closed", True) is False:
                iterator.close()
        opened.clear()
    finally:
        sys.unraisablehook = old_hook
    state = [(k, describe(v)) for k, v in environ.items()] if isinstance(environ, dict) else None
    return result, caught, events, state, unraisable


def fresh(environ):
    """A new environ with the same items (each run wraps wsgi.input/errors in place)."""
    return type(environ)(environ) if isinstance(environ, dict) else environ


def assert_same(app, environ=None, **kwargs):
    expected = run_app(std, app, None if environ is None else fresh(environ), **kwargs)
    got = run_app(ours, app, None if environ is None else fresh(environ), **kwargs)
    assert got == expected
    return got


# --------------------------------------------------------------------------------------------
# API surface


def test_api_surface_matches_the_stdlib():
    assert ours.__all__ == std.__all__ == ["validator"]
    for name in [*CHECKS, *WRAPPERS, "validator", "assert_", "check_string_type"]:
        assert hasattr(ours, name), name
        std_obj, our_obj = getattr(std, name), getattr(ours, name)
        assert str(inspect.signature(our_obj)) == str(inspect.signature(std_obj)), name
    for name in WRAPPERS:
        std_methods = {k for k in vars(getattr(std, name)) if not k.startswith("__")}
        std_methods |= {
            k
            for k in ("__iter__", "__next__", "__call__", "__del__")
            if k in vars(getattr(std, name))
        }
        for method in std_methods:
            assert method in vars(getattr(ours, name)), (name, method)
            assert str(inspect.signature(getattr(getattr(ours, name), method))) == str(
                inspect.signature(getattr(getattr(std, name), method))
            )
    assert issubclass(ours.WSGIWarning, Warning)
    assert ours.validator(lambda e, s: []).__name__ == "lint_app"
    assert ours.header_re.pattern and ours.bad_header_value_re.pattern


def test_header_patterns_accept_and_reject_the_same_strings():
    samples = ["A", "a-b_c", "1a", "-a", "a\n", "a b", "\xe9", "a\u212a", "", "Z9-", "_x"]
    for sample in samples:
        assert bool(ours.header_re.search(sample)) == bool(std.header_re.search(sample)), sample
    for code in range(0x300):
        char = chr(code)
        assert bool(ours.bad_header_value_re.search(char)) == bool(
            std.bad_header_value_re.search(char)
        ), code


# --------------------------------------------------------------------------------------------
# Applications, good and bad


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello", b" world"]


def make_app(status="200 OK", headers=None, body=(b"x",), extra=None, returns=None, sr_args=None):
    def app(environ, start_response):
        if extra is not None:
            extra(environ)
        if sr_args is not None:
            start_response(*sr_args)
        else:
            start_response(status, [("Content-Type", "text/plain")] if headers is None else headers)
        return list(body) if returns is None else returns

    return app


def gen_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"a"
    yield b"b"


def lazy_start_app(environ, start_response):
    def body():
        yield b"too early"
        start_response("200 OK", [("Content-Type", "text/plain")])

    return body()


def writer_app(data):
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(data)
        return []

    return app


class ClosingBody:
    def __init__(self):
        self.closed = 0

    def __iter__(self):
        yield b"c"

    def close(self):
        self.closed += 1


APPS = {
    "hello": (hello, {}),
    "generator": (gen_app, {}),
    "empty-list": (make_app(body=()), {}),
    "no-content-type": (make_app(headers=[]), {}),
    "204-with-type": (make_app(status="204 No Content"), {}),
    "204-without-type": (make_app(status="204 No Content", headers=[], body=()), {}),
    "304-without-type": (make_app(status="304 Not Modified", headers=[], body=()), {}),
    "status-int": (make_app(status=200), {}),
    "status-short": (make_app(status="200"), {}),
    "status-no-space": (make_app(status="200OK"), {}),
    "status-x": (make_app(status="20X OK"), {}),
    "status-99": (make_app(status="099 Low"), {}),
    "status-4-digits": (make_app(status="2000 OK"), {}),
    "status-empty": (make_app(status=""), {}),
    "status-spaces": (make_app(status="   "), {}),
    "status-leading-space": (make_app(status=" 200 OK"), {}),
    "status-tab": (make_app(status="200\tOK"), {}),
    "status-arabic-digits": (make_app(status="\u0662\u0660\u0660 OK"), {}),
    "status-underscore": (make_app(status="1_0 X"), {}),
    "status-subclass": (make_app(status=type("S", (str,), {})("200 OK")), {}),
    "headers-tuple": (make_app(headers=(("Content-Type", "text/plain"),)), {}),
    "header-list-item": (make_app(headers=[["Content-Type", "text/plain"]]), {}),
    "header-3-tuple": (make_app(headers=[("Content-Type", "text/plain", "x")]), {}),
    "header-bytes-name": (make_app(headers=[(b"Content-Type", "text/plain")]), {}),
    "header-bytes-value": (make_app(headers=[("Content-Type", b"text/plain")]), {}),
    "header-status": (make_app(headers=[("Content-Type", "t"), ("STATUS", "200")]), {}),
    "header-colon": (make_app(headers=[("Content-Type", "t"), ("X:Y", "1")]), {}),
    "header-newline": (make_app(headers=[("Content-Type", "t"), ("X\nY", "1")]), {}),
    "header-trailing-newline": (make_app(headers=[("Content-Type", "t"), ("X\n", "1")]), {}),
    "header-space": (make_app(headers=[("Content-Type", "t"), ("X Y", "1")]), {}),
    "header-digit-first": (make_app(headers=[("Content-Type", "t"), ("1X", "1")]), {}),
    "header-dash-end": (make_app(headers=[("Content-Type", "t"), ("X-", "1")]), {}),
    "header-underscore-end": (make_app(headers=[("Content-Type", "t"), ("X_", "1")]), {}),
    "header-non-ascii": (make_app(headers=[("Content-Type", "t"), ("X\xe9", "1")]), {}),
    "header-value-control": (make_app(headers=[("Content-Type", "t\x01x")]), {}),
    "header-value-newline": (make_app(headers=[("Content-Type", "t\r\nx")]), {}),
    "header-value-del": (make_app(headers=[("Content-Type", "t\x7f")]), {}),
    "exc-info-list": (make_app(sr_args=("200 OK", [("Content-Type", "t")], [1, 2, 3])), {}),
    "exc-info-tuple": (
        make_app(sr_args=("200 OK", [("Content-Type", "t")], (None, None, None))),
        {},
    ),
    "exc-info-none": (make_app(sr_args=("200 OK", [("Content-Type", "t")], None)), {}),
    "start-response-1-arg": (make_app(sr_args=("200 OK",)), {}),
    "start-response-4-args": (make_app(sr_args=("200 OK", [], None, 4)), {}),
    "returns-zero": (make_app(returns=0), {}),
    "returns-false": (make_app(returns=False), {}),
    "returns-str": (make_app(returns="text"), {}),
    "returns-bytes": (make_app(returns=b"bytes"), {}),
    "returns-int": (make_app(returns=5), {}),
    "yields-str": (make_app(body=["text"]), {}),
    "yields-bytearray": (make_app(body=[bytearray(b"x")]), {}),
    "yields-bytes-subclass": (make_app(body=[type("B", (bytes,), {})(b"x")]), {}),
    "iterate-before-start-response": (lazy_start_app, {}),
    "write-bytes": (writer_app(b"data"), {}),
    "write-str": (writer_app("data"), {}),
    "read-after-close": (hello, {"consume": "one"}),
    "not-consumed": (hello, {"consume": "none"}),
}


@pytest.mark.parametrize("app,kwargs", list(APPS.values()), ids=list(APPS))
def test_apps_behave_the_same(app, kwargs):
    assert_same(app, **kwargs)


def test_returning_none_is_refused():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "t")])

    result, _, _, _, _ = assert_same(app)
    assert result == (
        "raise",
        "AssertionError",
        ("The application must return an iterator, if only an empty list",),
        "The application must return an iterator, if only an empty list",
    )


def test_spot_check_messages():
    result, caught, _, _, _ = assert_same(make_app(headers=("Content-Type", "text/plain")))
    assert result[3] == (
        "Headers (('Content-Type', 'text/plain')) must be of type list: <class 'tuple'>"
    )
    result, caught, _, _, _ = assert_same(make_app(status="200"))
    assert caught == [
        (
            "WSGIWarning",
            (
                "The status string ('200') should be a three-digit integer followed by a "
                "single space and a status explanation"
            ),
        )
    ]
    result, _, _, _, _ = assert_same(lazy_start_app)
    assert result[3] == (
        "The application returns and we started iterating over its body, but start_response "
        "has not yet been called"
    )


def test_closing_the_wrapper_closes_the_body():
    outcomes = []
    for mod in (std, ours):
        body = ClosingBody()

        def app(environ, start_response, body=body):
            start_response("200 OK", [("Content-Type", "t")])
            return body

        wrapped = mod.validator(app)(good_environ(), lambda s, h, e=None: None)
        items = list(wrapped)
        wrapped.close()
        outcomes.append((items, body.closed, wrapped.closed))
    assert outcomes[0] == outcomes[1] == ([b"c"], 1, True)


def test_calling_the_validated_app_wrongly():
    environ = good_environ()
    for args in [(environ,), (environ, None, None), ()]:
        assert run_app(ours, hello, call_args=args) == run_app(std, hello, call_args=args)

    for mod_outcomes in [
        [
            outcome_of(lambda m=m: m.validator(hello)(environ, start_response=None))
            for m in (std, ours)
        ],
        [outcome_of(lambda m=m: m.validator(hello)(environ=environ)) for m in (std, ours)],
    ]:
        assert mod_outcomes[0] == mod_outcomes[1]
        assert mod_outcomes[1][0][0] == "raise"


def test_start_response_keyword_arguments():
    def app(environ, start_response):
        start_response("200 OK", headers=[("Content-Type", "t")])
        return []

    result, _, _, _, _ = assert_same(app)
    assert result[3] == "Invalid number of arguments: ('200 OK',)"

    def app2(environ, start_response):
        start_response("200 OK", [("Content-Type", "t")], exc_info=None)
        return []

    result, _, _, _, _ = assert_same(app2)
    assert result[3] == "No keyword arguments allowed"


# --------------------------------------------------------------------------------------------
# wsgi.input / wsgi.errors


def input_app(action):
    def app(environ, start_response):
        value = action(environ["wsgi.input"], environ["wsgi.errors"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [repr(value).encode()]

    return app


class BadInput:
    def __init__(self, value):
        self.value = value

    def read(self, *args):
        return self.value

    def readline(self, *args):
        return self.value

    def readlines(self, *args):
        return self.value

    def __iter__(self):
        return iter([])


INPUT_ACTIONS = {
    "read-n": (lambda i, e: i.read(3), {}),
    "read-no-arg": (lambda i, e: i.read(), {}),
    "read-two-args": (lambda i, e: i.read(1, 2), {}),
    "readline": (lambda i, e: i.readline(), {}),
    "readline-n": (lambda i, e: i.readline(2), {}),
    "readline-two-args": (lambda i, e: i.readline(1, 2), {}),
    "readlines": (lambda i, e: i.readlines(), {}),
    "readlines-hint": (lambda i, e: i.readlines(1), {}),
    "iterate": (lambda i, e: list(i), {}),
    "close-input": (lambda i, e: i.close(), {}),
    "errors-write": (lambda i, e: e.write("oops"), {}),
    "errors-write-bytes": (lambda i, e: e.write(b"oops"), {}),
    "errors-writelines": (lambda i, e: e.writelines(["a", "b"]), {}),
    "errors-writelines-bad": (lambda i, e: e.writelines(["a", b"b"]), {}),
    "errors-flush": (lambda i, e: e.flush(), {}),
    "close-errors": (lambda i, e: e.close(), {}),
    "read-returns-str": (lambda i, e: i.read(1), {"wsgi.input": BadInput("s")}),
    "readline-returns-str": (lambda i, e: i.readline(), {"wsgi.input": BadInput("s")}),
    "readlines-returns-tuple": (lambda i, e: i.readlines(), {"wsgi.input": BadInput((b"x",))}),
    "readlines-returns-str-items": (lambda i, e: i.readlines(), {"wsgi.input": BadInput(["x"])}),
}


@pytest.mark.parametrize("action,env", list(INPUT_ACTIONS.values()), ids=list(INPUT_ACTIONS))
def test_input_and_errors_wrappers_behave_the_same(action, env):
    def make_environ():
        environ = good_environ(**env)
        if "wsgi.input" not in env:
            environ["wsgi.input"] = io.BytesIO(b"line1\nline2\nline3")
        environ["wsgi.errors"] = io.StringIO()
        return environ

    std_env, our_env = make_environ(), make_environ()
    expected = run_app(std, input_app(action), std_env)
    got = run_app(ours, input_app(action), our_env)
    assert got == expected
    assert std_env["wsgi.errors"].errors.getvalue() == our_env["wsgi.errors"].errors.getvalue()


def test_input_close_message():
    result, _, _, _, _ = assert_same(input_app(lambda i, e: i.close()))
    assert result[3] == "input.close() must not be called"
    result, _, _, _, _ = assert_same(input_app(lambda i, e: i.read()))
    assert result[:3] == ("raise", "AssertionError", ())


# --------------------------------------------------------------------------------------------
# Environs


def without(key):
    environ = good_environ()
    del environ[key]
    return environ


class NoRead:
    def readline(self):
        return b""

    def readlines(self):
        return []

    def __iter__(self):
        return iter([])

    def __repr__(self):
        return "<NoRead>"


ENVIRONS = {
    "dict-subclass": lambda: type("D", (dict,), {})(good_environ()),
    "not-a-dict": lambda: [("REQUEST_METHOD", "GET")],
    **{f"missing-{k}": (lambda k=k: without(k)) for k in ours._REQUIRED_KEYS},
    "missing-QUERY_STRING": lambda: without("QUERY_STRING"),
    "missing-SCRIPT_NAME": lambda: without("SCRIPT_NAME"),
    "missing-PATH_INFO": lambda: without("PATH_INFO"),
    "missing-url_scheme": lambda: without("wsgi.url_scheme"),
    "HTTP_CONTENT_TYPE": lambda: good_environ(HTTP_CONTENT_TYPE="text/plain"),
    "HTTP_CONTENT_LENGTH": lambda: good_environ(HTTP_CONTENT_LENGTH="0"),
    "int-value": lambda: good_environ(SERVER_PORT=80),
    "bytes-value": lambda: good_environ(HTTP_X=b"x"),
    "str-subclass-value": lambda: good_environ(HTTP_X=type("S", (str,), {})("x")),
    "dotted-any-type": lambda: good_environ(**{"my.ext": 5}),
    "int-key": lambda: {**good_environ(), 5: "five"},
    "tuple-key": lambda: {**good_environ(), ("a",): "x"},
    "version-list": lambda: good_environ(**{"wsgi.version": [1, 0]}),
    "scheme-ftp": lambda: good_environ(**{"wsgi.url_scheme": "ftp"}),
    "scheme-tuple-1": lambda: good_environ(**{"wsgi.url_scheme": ("http",)}),
    "scheme-tuple-0": lambda: good_environ(**{"wsgi.url_scheme": ()}),
    "scheme-tuple-2": lambda: good_environ(**{"wsgi.url_scheme": ("a", "b")}),
    "scheme-dict": lambda: good_environ(**{"wsgi.url_scheme": {"a": 1}}),
    "input-no-read": lambda: good_environ(**{"wsgi.input": NoRead()}),
    "errors-no-flush": lambda: good_environ(**{"wsgi.errors": NoRead()}),
    "method-unknown": lambda: good_environ(REQUEST_METHOD="BREW"),
    "method-lower": lambda: good_environ(REQUEST_METHOD="get"),
    "script-name-relative": lambda: good_environ(SCRIPT_NAME="x"),
    "path-info-relative": lambda: good_environ(PATH_INFO="x"),
    "script-name-slash": lambda: good_environ(SCRIPT_NAME="/", PATH_INFO=""),
    "script-name-and-empty-path": lambda: good_environ(SCRIPT_NAME="/app", PATH_INFO=""),
    "content-length-negative": lambda: good_environ(CONTENT_LENGTH="-1"),
    "content-length-text": lambda: good_environ(CONTENT_LENGTH="abc"),
    "content-length-spaces": lambda: good_environ(CONTENT_LENGTH=" 12 "),
    "content-length-empty": lambda: good_environ(CONTENT_LENGTH=""),
    "two-warnings": lambda: {**without("QUERY_STRING"), "REQUEST_METHOD": "BREW"},
}


@pytest.mark.parametrize("make_environ", list(ENVIRONS.values()), ids=list(ENVIRONS))
def test_environs_behave_the_same(make_environ):
    expected = run_app(std, hello, make_environ())
    got = run_app(ours, hello, make_environ())
    assert got == expected


def test_environ_messages():
    result, caught, _, _, _ = assert_same(hello, without("QUERY_STRING"))
    assert caught == [
        (
            "WSGIWarning",
            (
                "QUERY_STRING is not in the WSGI environment; the cgi module will use sys.argv "
                "when this variable is missing, so application errors are more likely"
            ),
        )
    ]
    result, _, _, _, _ = assert_same(hello, good_environ(**{"wsgi.url_scheme": ("http",)}))
    assert result[3] == "wsgi.url_scheme unknown: 'http'"
    result, _, _, _, _ = assert_same(hello, without("SCRIPT_NAME"))
    assert result[:2] == ("raise", "KeyError")
    result, _, _, state, _ = assert_same(hello, good_environ())
    assert result == ("ok", [b"Hello", b" world"])
    assert dict(state)["wsgi.input"] == ("InputWrapper", "BytesIO")
    assert dict(state)["wsgi.errors"] == ("ErrorWrapper", "StringIO")


# --------------------------------------------------------------------------------------------
# Garbage-collected, unclosed iterators


def unraisable_of(mod, app, **kwargs):
    seen = []
    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: seen.append((type(u.exc_value).__name__, u.exc_value.args))
    err = io.StringIO()
    old_err, sys.stderr = sys.stderr, err
    try:
        wrapped = mod.validator(app)
        try:
            iterator = wrapped(good_environ(), lambda s, h, e=None: None)
            list(iterator)
            del iterator
        except Exception as exc:  # noqa: BLE001
            seen.append(("raised", type(exc).__name__, exc.args))
        gc.collect()
    finally:
        sys.unraisablehook = old_hook
        sys.stderr = old_err
    return seen, err.getvalue()


def test_unclosed_iterator_reported_on_collection():
    expected = unraisable_of(std, hello)
    got = unraisable_of(ours, hello)
    assert got == expected
    assert got == (
        [("AssertionError", ("Iterator garbage collected without being closed",))],
        "Iterator garbage collected without being closed",
    )


def test_non_iterable_result_reports_like_the_stdlib():
    # iter() fails inside IteratorWrapper.__init__, then __del__ finds no `closed` attribute.
    app = make_app(returns=5)
    assert unraisable_of(ours, app) == unraisable_of(std, app)


def test_partial_iterator_wrapper():
    outcomes = []
    for mod in (std, ours):
        wrapper = mod.PartialIteratorWrapper([b"a", "b"])
        it = iter(wrapper)
        first = next(it)
        second = outcome_of(next, it)
        it.close()
        outcomes.append((type(it).__name__, first, second, it.check_start_response))
    assert outcomes[0] == outcomes[1]


def test_write_wrapper_and_direct_wrappers():
    for value in (b"x", "x", bytearray(b"x"), None):
        results = []
        for mod in (std, ours):
            got = []
            results.append((outcome_of(mod.WriteWrapper(got.append), value), got))
        assert results[0] == results[1]


# --------------------------------------------------------------------------------------------
# Generated inputs for the check functions

ANY_TEXT = st.text(max_size=8)
STATUS = st.one_of(
    st.from_regex(r"\A[0-9 ]{0,5}[A-Za-z ]{0,4}\Z"),
    ANY_TEXT,
    st.integers(),
    st.none(),
    st.binary(max_size=4),
)
HEADER_NAME = st.one_of(
    st.sampled_from(["Content-Type", "content-type", "Status", "X-A", "X_", "X-", "1A", "A:B"]),
    ANY_TEXT,
    st.binary(max_size=3),
    st.integers(),
)
HEADER_VALUE = st.one_of(
    ANY_TEXT, st.sampled_from(["text/plain", "a\x00b", "\x1f", "\x7f"]), st.none()
)
HEADER_ITEM = st.one_of(
    st.tuples(HEADER_NAME, HEADER_VALUE),
    st.lists(ANY_TEXT, max_size=3),
    st.tuples(ANY_TEXT, ANY_TEXT, ANY_TEXT),
    st.tuples(ANY_TEXT),
)
HEADERS = st.one_of(
    st.lists(HEADER_ITEM, max_size=4),
    st.lists(HEADER_ITEM, max_size=3).map(tuple),
    st.none(),
    ANY_TEXT,
)


@DIFF_SETTINGS
@given(STATUS, HEADERS)
def test_check_status_headers_and_content_type_match_stdlib(status, headers):
    assert outcome_of(ours.check_status, status) == outcome_of(std.check_status, status)
    assert outcome_of(ours.check_headers, headers) == outcome_of(std.check_headers, headers)
    assert outcome_of(ours.check_content_type, status, headers) == outcome_of(
        std.check_content_type, status, headers
    )


@DIFF_SETTINGS
@given(
    st.one_of(st.none(), st.tuples(st.integers()), st.lists(st.integers(), max_size=2), ANY_TEXT)
)
def test_check_exc_info_and_iterator_match_stdlib(value):
    assert outcome_of(ours.check_exc_info, value) == outcome_of(std.check_exc_info, value)
    assert outcome_of(ours.check_iterator, value) == outcome_of(std.check_iterator, value)


ENV_KEYS = st.sampled_from(
    [
        "REQUEST_METHOD",
        "SERVER_NAME",
        "SERVER_PORT",
        "QUERY_STRING",
        "SCRIPT_NAME",
        "PATH_INFO",
        "CONTENT_LENGTH",
        "HTTP_CONTENT_TYPE",
        "HTTP_CONTENT_LENGTH",
        "HTTP_X",
        "wsgi.version",
        "wsgi.url_scheme",
        "wsgi.input",
        "wsgi.errors",
        "wsgi.multithread",
        "my.extension",
    ]
)
ENV_VALUES = st.one_of(
    st.sampled_from(["", "/", "/a", "a", "GET", "POST", "BREW", "http", "https", "-1", "12", "x"]),
    ANY_TEXT,
    st.integers(),
    st.none(),
    st.tuples(st.integers()),
    st.tuples(ANY_TEXT),
    st.just(()),
)


@DIFF_SETTINGS
@given(
    st.lists(ENV_KEYS, max_size=3, unique=True),
    st.dictionaries(ENV_KEYS, ENV_VALUES, max_size=4),
)
def test_check_environ_matches_stdlib(removed, changed):
    def make():
        environ = good_environ()
        for key in removed:
            environ.pop(key, None)
        environ.update(changed)
        return environ

    std_env, our_env = make(), make()
    assert outcome_of(ours.check_environ, our_env) == outcome_of(std.check_environ, std_env)
    assert list(our_env) == list(std_env)


@DIFF_SETTINGS
@given(
    status=STATUS,
    headers=HEADERS,
    exc_info=st.sampled_from([None, (None, None, None), [1]]),
    nargs=st.sampled_from([2, 3]),
    body=st.lists(st.one_of(st.binary(max_size=3), ANY_TEXT), max_size=3),
)
def test_whole_calls_match_stdlib(status, headers, exc_info, nargs, body):
    args = (status, headers, exc_info)[:nargs]
    app = make_app(sr_args=args, body=body)
    expected = run_app(std, app)
    got = run_app(ours, app)
    assert got == expected
