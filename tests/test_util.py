"""wsgiref_rs.util against the standard library's wsgiref.util.

Differential properties feed the same inputs to both implementations and compare the
result (or the exception's type and message) and the environ left behind, key order
included. Explicit tests pin the documented corner cases.
"""

import inspect
import io
import os
import pickle
import subprocess
import sys
import warnings
import wsgiref.util as std

import pytest
from examples import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsgiref_rs._native as native
import wsgiref_rs.util as ours

DIFFERENTIAL = settings(
    max_examples=examples(10_000),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)

# The standard library's own functions in wsgiref.util (what it imports from elsewhere aside).
FUNCTIONS = sorted(
    name for name, value in vars(std).items()
    if inspect.isfunction(value) and value.__module__ == std.__name__ and name[0] != "_"
)


# ---------------------------------------------------------------------------
# Odd environ types and values
# ---------------------------------------------------------------------------


class S(str):
    """A str subclass that changes nothing."""


class Upper(str):
    """A str subclass whose lower() and concatenation do their own thing."""

    def lower(self):
        return "connection" if self == "X" else str.lower(self)

    def __add__(self, other):
        return Upper(str.__add__(self, other) + "!")

    def __radd__(self, other):
        return Upper("<" + other + str(self))


class Liar(str):
    """A str subclass equal to everything (and so to every literal the stdlib tests)."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__


class DictSub(dict):
    """A dict subclass that changes nothing."""


class Missing(dict):
    """A dict subclass whose [] never fails while .get still does."""

    def __missing__(self, key):
        return "m"


class Recorder:
    """A mapping that records every call the function makes on it."""

    def __init__(self, items):
        self.data = dict(items)
        self.calls = []

    def get(self, key, *default):
        self.calls.append(("get", key, len(default)))
        return self.data.get(key, *default)

    def __getitem__(self, key):
        self.calls.append(("getitem", key))
        return self.data[key]

    def __setitem__(self, key, value):
        self.calls.append(("setitem", key))
        self.data[key] = value

    def __contains__(self, key):
        self.calls.append(("contains", key))
        return key in self.data

    def setdefault(self, key, value):
        self.calls.append(("setdefault", key, type(value).__name__))
        return self.data.setdefault(key, value)

    def items(self):
        return self.data.items()


ENVIRON_TYPES = [dict, DictSub, Missing, Recorder]

KEYS = [
    "wsgi.url_scheme",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "SCRIPT_NAME",
    "PATH_INFO",
    "QUERY_STRING",
    "HTTPS",
    "REQUEST_METHOD",
    "SERVER_PROTOCOL",
    "wsgi.version",
    "wsgi.input",
    "wsgi.errors",
    "X_OTHER",
]

# Strings are drawn with character-set alphabets, which hypothesis draws in one step.
ODD_CHARS = (
    "/.%;=,?#~ aZ0_-\x00\x7f\x80\xe9\xff\u0100\u212a\u20ac\ud800\udc80\U0001f600"
)
texts = st.one_of(
    st.text(ODD_CHARS, max_size=8),
    st.text(st.characters(exclude_categories=()), max_size=6),  # surrogates included
)

PATH_CHARS = "/.a%\xe9\u0100\ud800;=, ~"
SEGMENTS = ["", ".", "..", "a", "b c", "%41", "\xe9", "\u0100", "\ud800", ";x=1,2", "~"]
PATH_POOL = ["", "/", "//", "///", "/.", "/..", "/./", "//x", "x", ".", "..", "/x/", "/a/../b"]
paths = st.one_of(
    st.text(PATH_CHARS, max_size=12),
    st.lists(st.sampled_from(SEGMENTS), max_size=6).map("/".join),
    st.sampled_from(PATH_POOL),
)

ODD_VALUES = [
    None, 0, 80, 443, b"/x", 1.5, (), ["a"], S("s"), S(""), S("/a b"), Upper("X"), Liar("no"),
]
odd_values = st.sampled_from(ODD_VALUES)

PER_KEY = {
    "wsgi.url_scheme": st.sampled_from(["http", "https", "HTTP", "", "ftp", S("https")]),
    "HTTP_HOST": st.sampled_from(["", "example.com", "h:8080", "\xe9x", "\ud800"]),
    "SERVER_NAME": st.sampled_from(["", "127.0.0.1", "srv", "\u0100"]),
    "SERVER_PORT": st.sampled_from(["80", "443", "8080", "", "080", S("80")]),
    "SCRIPT_NAME": paths,
    "PATH_INFO": paths,
    "QUERY_STRING": st.sampled_from(["", "a=1", "a b&c=%20", "\u0100"]),
    "HTTPS": st.sampled_from(["yes", "on", "1", "YES", "off", "", S("on"), Liar("no"), 1, True]),
}


def value_for(key):
    specific = PER_KEY.get(key, texts)
    return st.one_of(specific, specific, specific, texts, odd_values)


# built once: building strategies per draw costs more than the tests themselves
VALUES = {key: value_for(key)
          for key in KEYS + ["wsgi.run_once", "wsgi.multithread", "wsgi.multiprocess"]}


@st.composite
def environ_items(draw, keys=tuple(KEYS)):
    """A random subset of `keys`, in a rotated or reversed order, with odd values.

    (A bit mask and a rotation are two draws where a list of keys is dozens: this
    keeps 10,000 examples per property affordable.)
    """
    mask = draw(st.integers(0, 2 ** len(keys) - 1))
    chosen = [key for i, key in enumerate(keys) if mask >> i & 1]
    if chosen:
        turn = draw(st.integers(-len(chosen), len(chosen) - 1))
        chosen = chosen[turn:] + chosen[:turn]
        if turn < 0:
            chosen.reverse()
    return [(key, draw(VALUES[key])) for key in chosen]


# The keys each function reads or writes, plus one it never touches.
GUESS_KEYS = ("HTTPS", "wsgi.url_scheme", "X_OTHER")
APP_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "X_OTHER")
REQUEST_KEYS = APP_KEYS + ("PATH_INFO", "QUERY_STRING")
SHIFT_KEYS = ("SCRIPT_NAME", "PATH_INFO", "X_OTHER")
DEFAULTS_KEYS = tuple(KEYS) + ("wsgi.run_once", "wsgi.multithread", "wsgi.multiprocess")


def environ_kinds():
    # mostly exact dicts (the fast path), some of each other kind
    return st.sampled_from([dict] * 5 + ENVIRON_TYPES)


def normalize(value):
    if isinstance(value, (io.BytesIO, io.StringIO)):
        return ("fresh", type(value))
    return (type(value), value)


def state(env):
    """Everything a caller can observe about an environ after the call."""
    items = [(k, normalize(v)) for k, v in env.items()]
    return items, getattr(env, "calls", None)


def outcome(fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- the exception IS the result here
        return ("raises", type(exc), str(exc))
    return ("returns", type(result), result)


def differential(name, kind, items, *args, **kwargs):
    env_std = kind(items)
    env_ours = kind(items)
    expected = outcome(getattr(std, name), env_std, *args, **kwargs)
    got = outcome(getattr(ours, name), env_ours, *args, **kwargs)
    assert got == expected
    assert state(env_ours) == state(env_std)


# ---------------------------------------------------------------------------
# Differential properties
# ---------------------------------------------------------------------------


@DIFFERENTIAL
@given(environ_kinds(), environ_items(GUESS_KEYS))
def test_guess_scheme_matches_stdlib(kind, items):
    differential("guess_scheme", kind, items)


@DIFFERENTIAL
@given(environ_kinds(), environ_items(APP_KEYS))
def test_application_uri_matches_stdlib(kind, items):
    differential("application_uri", kind, items)


INCLUDE_QUERY = [(), (True,), (False,), (0,), (1,), (None,), ("",), ("x",)]


@DIFFERENTIAL
@given(environ_kinds(), environ_items(REQUEST_KEYS), st.sampled_from(INCLUDE_QUERY), st.booleans())
def test_request_uri_matches_stdlib(kind, items, include_query, as_keyword):
    if as_keyword and include_query:
        differential("request_uri", kind, items, include_query=include_query[0])
    else:
        differential("request_uri", kind, items, *include_query)


@DIFFERENTIAL
@given(environ_kinds(), environ_items(SHIFT_KEYS))
def test_shift_path_info_matches_stdlib(kind, items):
    differential("shift_path_info", kind, items)


@DIFFERENTIAL
@given(environ_kinds(), environ_items(DEFAULTS_KEYS))
def test_setup_testing_defaults_matches_stdlib(kind, items):
    differential("setup_testing_defaults", kind, items)


HEADER_NAMES = [
    "Connection", "KEEP-ALIVE", "te", "TE", "Trailers", "Trailer", "transfer-encoding",
    "Upgrade", "proxy-authenticate", "Proxy-Authorization", "content-type", "",
    "\u212aeep-alive", "\u212a", "T\u0130", "connection\ud800", S("Upgrade"), Upper("X"),
    Upper("te"), Liar("x"), None, 1, b"te",
]


@DIFFERENTIAL
@given(st.one_of(st.sampled_from(HEADER_NAMES), texts, st.text(max_size=20)))
def test_is_hop_by_hop_matches_stdlib(header_name):
    assert outcome(ours.is_hop_by_hop, header_name) == outcome(std.is_hop_by_hop, header_name)


class ReadOnly:
    """A file-like object with read() and no close()."""

    def __init__(self, data):
        self.stream = io.BytesIO(data)

    def read(self, size):
        return self.stream.read(size)


class Falsy:
    """read() returns odd values: data until exhausted, then one falsy value."""

    def __init__(self, data, end):
        self.chunks = list(data)
        self.end = end
        self.closed = False

    def read(self, size):
        return self.chunks.pop(0) if self.chunks else self.end

    def close(self):
        self.closed = True


FILELIKES = ["bytes", "text", "readonly", "falsy"]


def make_filelike(kind, content, end):
    if kind == "bytes":
        return io.BytesIO(content.encode("utf-8", "surrogatepass"))
    if kind == "text":
        return io.StringIO(content)
    if kind == "readonly":
        return ReadOnly(content.encode("utf-8", "surrogatepass"))
    return Falsy(content, end)


def wrapper_subclass(base):
    class Wrapper(base):
        def __init__(self, filelike, blksize=8192):
            super().__init__(filelike, blksize)
            self.extra = 1

    return Wrapper


def drain(wrapper, limit=10_000):
    chunks = []
    for chunk in wrapper:
        chunks.append(chunk)
        if len(chunks) > limit:
            break
    return chunks


def exercise_wrapper(module, kind, content, end, blksize, subclass, close_first):
    filelike = make_filelike(kind, content, end)
    cls = wrapper_subclass(module.FileWrapper) if subclass else module.FileWrapper
    wrapper = cls(filelike) if blksize == "default" else cls(filelike, blksize)
    report = [
        wrapper.filelike is filelike,
        wrapper.blksize,
        hasattr(wrapper, "close"),
        iter(wrapper) is wrapper,
    ]
    if close_first and hasattr(wrapper, "close"):
        wrapper.close()
        report.append(getattr(filelike, "closed", None))
    report.append(outcome(drain, wrapper))
    report.append(outcome(next, wrapper))
    if hasattr(wrapper, "close"):
        wrapper.close()
        report.append(getattr(filelike, "closed", None))
    wrapper.blksize = 5
    wrapper.filelike = io.BytesIO(b"0123456789ab")
    report.append(list(wrapper))
    return report


@DIFFERENTIAL
@given(
    st.sampled_from(FILELIKES),
    st.text(ODD_CHARS, max_size=40),
    st.sampled_from([b"", "", None, 0, [], False]),
    st.one_of(st.sampled_from(["default", None, -1, 0]), st.integers(1, 16)),
    st.booleans(),
    st.booleans(),
)
def test_file_wrapper_matches_stdlib(kind, content, end, blksize, subclass, close_first):
    expected = exercise_wrapper(std, kind, content, end, blksize, subclass, close_first)
    got = exercise_wrapper(ours, kind, content, end, blksize, subclass, close_first)
    assert got == expected


# ---------------------------------------------------------------------------
# The module's shape
# ---------------------------------------------------------------------------


def test_all_matches_stdlib_and_is_hop_by_hop_is_still_importable():
    assert ours.__all__ == std.__all__
    # Listed from Python 3.13 on; public before that too.
    assert ("is_hop_by_hop" in ours.__all__) == (sys.version_info >= (3, 13))
    from wsgiref_rs.util import is_hop_by_hop

    assert is_hop_by_hop is native.is_hop_by_hop


def test_module_docstring_like_stdlib():
    assert ours.__doc__.splitlines()[0] == std.__doc__.splitlines()[0]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signatures_match_stdlib(name):
    assert inspect.signature(getattr(ours, name)) == inspect.signature(getattr(std, name))


def test_file_wrapper_signature_and_names():
    assert str(inspect.signature(ours.FileWrapper)) == str(inspect.signature(std.FileWrapper))
    assert ours.FileWrapper.__module__ == "wsgiref_rs.util"
    assert ours.FileWrapper.__name__ == ours.FileWrapper.__qualname__ == "FileWrapper"
    assert ours.FileWrapper.__doc__.splitlines()[0] == std.FileWrapper.__doc__


@pytest.mark.parametrize("name", FUNCTIONS)
def test_docstrings_say_they_hold_the_gil(name):
    doc = getattr(ours, name).__doc__
    assert doc.splitlines()[0] == getattr(std, name).__doc__.splitlines()[0].strip()
    assert "Holds the GIL (no I/O)." in doc.splitlines()


def test_keyword_arguments_accepted():
    env = {"wsgi.url_scheme": "http", "HTTP_HOST": "h", "QUERY_STRING": "q"}
    assert ours.request_uri(environ=env, include_query=False) == "http://h/"
    assert ours.guess_scheme(environ={}) == "http"
    assert ours.is_hop_by_hop(header_name="TE") is True
    wrapper = ours.FileWrapper(filelike=io.BytesIO(b"ab"), blksize=1)
    assert list(wrapper) == [b"a", b"b"]


def test_stubs_match_native_module():
    # stubtest must say nothing about the util names (other sections are not ours)
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "wsgiref_rs._native"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MYPY_CACHE_DIR": os.devnull},  # leave no cache behind
    )
    names = FUNCTIONS + ["FileWrapper"]
    complaints = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("error:")
        and any(f"wsgiref_rs._native.{n}" in line for n in names)
    ]
    assert complaints == []
    assert "error: not checking stubs" not in result.stdout


# ---------------------------------------------------------------------------
# URI corner cases
# ---------------------------------------------------------------------------


def both(fn_name, env_items, *args):
    results = []
    for module in (std, ours):
        env = dict(env_items)
        results.append(outcome(getattr(module, fn_name), env, *args))
    assert results[0] == results[1]
    return results[1]


@pytest.mark.parametrize(
    ("uri", "items"),
    [
        ("http://127.0.0.1/", {}),
        ("http://127.0.0.1/spam", {"SCRIPT_NAME": "/spam"}),
        ("http://127.0.0.1/sp%E4m", {"SCRIPT_NAME": "/sp\xe4m"}),
        ("http://host:2071/", {"HTTP_HOST": "host:2071", "SERVER_PORT": "2071"}),
        ("http://srv/", {"SERVER_NAME": "srv"}),
        ("http://127.0.0.1/", {"HTTP_HOST": "127.0.0.1", "SERVER_NAME": "srv"}),
        ("https://127.0.0.1/", {"HTTPS": "on"}),
        ("http://127.0.0.1:8000/", {"SERVER_PORT": "8000", "HTTP_HOST": None}),
        ("http://127.0.0.1:8000/", {"SERVER_PORT": "8000", "HTTP_HOST": ""}),
    ],
)
def test_application_uri_documented_cases(uri, items):
    for module in (std, ours):
        env = dict(items)
        module.setup_testing_defaults(env)
        assert module.application_uri(env) == uri


@pytest.mark.parametrize(
    ("uri", "include_query", "items"),
    [
        ("http://127.0.0.1/", 1, {}),
        ("http://127.0.0.1/spammity/spam", 1, {"SCRIPT_NAME": "/spammity", "PATH_INFO": "/spam"}),
        ("http://127.0.0.1/s/sp%E4m", 1, {"SCRIPT_NAME": "/s", "PATH_INFO": "/sp\xe4m"}),
        ("http://127.0.0.1/s/a;b=1,2", 1, {"SCRIPT_NAME": "/s", "PATH_INFO": "/a;b=1,2"}),
        ("http://127.0.0.1/s/x?q=%E4", 1,
         {"SCRIPT_NAME": "/s", "PATH_INFO": "/x", "QUERY_STRING": "q=%E4"}),
        ("http://127.0.0.1/s/x", 0, {"SCRIPT_NAME": "/s", "PATH_INFO": "/x", "QUERY_STRING": "q"}),
        # empty SCRIPT_NAME: application_uri ends with '/', PATH_INFO loses its first char
        ("http://127.0.0.1/x%3F", 1, {"SCRIPT_NAME": "", "PATH_INFO": "/x?"}),
        ("http://127.0.0.1/", 1, {"SCRIPT_NAME": "", "PATH_INFO": ""}),
        ("http://127.0.0.1/bc", 1, {"SCRIPT_NAME": "", "PATH_INFO": "abc"}),
    ],
)
def test_request_uri_documented_cases(uri, include_query, items):
    for module in (std, ours):
        env = dict(items)
        module.setup_testing_defaults(env)
        assert module.request_uri(env, include_query) == uri


@pytest.mark.parametrize(
    ("scheme", "port", "uri"),
    [
        ("http", "80", "http://h/"),
        ("http", "443", "http://h:443/"),
        ("https", "443", "https://h/"),
        ("https", "80", "https://h:80/"),
        ("HTTPS", "443", "HTTPS://h:443/"),
        ("http", "", "http://h:/"),
        ("http", "080", "http://h:080/"),
    ],
)
def test_default_ports(scheme, port, uri):
    items = {"wsgi.url_scheme": scheme, "SERVER_NAME": "h", "SERVER_PORT": port}
    assert both("application_uri", items) == ("returns", str, uri)


@pytest.mark.parametrize(
    ("items", "missing"),
    [
        ({}, "wsgi.url_scheme"),
        ({"wsgi.url_scheme": "http"}, "SERVER_NAME"),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": ""}, "SERVER_NAME"),
        ({"wsgi.url_scheme": "http", "SERVER_NAME": "s"}, "SERVER_PORT"),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": None, "SERVER_NAME": "s"}, "SERVER_PORT"),
    ],
)
def test_missing_keys_raise_key_error(items, missing):
    for module in (std, ours):
        with pytest.raises(KeyError) as info:
            module.application_uri(dict(items))
        assert info.value.args == (missing,)
    assert both("request_uri", items) == ("raises", KeyError, repr(missing))


def test_http_host_present_skips_server_name_and_port():
    items = {"wsgi.url_scheme": "https", "HTTP_HOST": "h"}
    assert both("application_uri", items) == ("returns", str, "https://h/")


def test_non_str_values_raise_the_stdlib_errors():
    cases = [
        ({"wsgi.url_scheme": 1}, "application_uri"),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": 5}, "application_uri"),
        ({"wsgi.url_scheme": "http", "SERVER_NAME": "s", "SERVER_PORT": 81}, "application_uri"),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": "h", "SCRIPT_NAME": b"/x"}, "application_uri"),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": "h", "PATH_INFO": 3}, "request_uri"),
        ({"wsgi.url_scheme": "http", "HTTP_HOST": "h", "QUERY_STRING": 3}, "request_uri"),
        ({"wsgi.url_scheme": ["a"]}, "application_uri"),
        ({"PATH_INFO": 7}, "shift_path_info"),
        ({"PATH_INFO": b"/a"}, "shift_path_info"),
        ({"PATH_INFO": "/a", "SCRIPT_NAME": 1}, "shift_path_info"),
        ({"PATH_INFO": "/a", "SCRIPT_NAME": None}, "shift_path_info"),
    ]
    for items, name in cases:
        result = both(name, items)
        assert result[0] == "raises", (items, result)


def test_str_subclass_values_follow_their_own_operators():
    items = {"wsgi.url_scheme": Upper("http"), "HTTP_HOST": "h", "SCRIPT_NAME": S("/a b")}
    result = both("request_uri", items)
    # Upper's __add__ appends '!' to every `url += ...` the stdlib performs
    assert result == ("returns", Upper, "http://!h!/a%20b!!")


@pytest.mark.parametrize(
    ("key", "value", "start", "end"),
    [
        ("SCRIPT_NAME", "/a\u0100", 2, 3),
        ("SCRIPT_NAME", "\u0100\u20acx\u0101", 0, 2),
        ("SCRIPT_NAME", "/\ud800\udc80", 1, 3),
        ("PATH_INFO", "/\xe9\U0001f600", 2, 3),
        ("PATH_INFO", "/x\udfff", 2, 3),
    ],
)
def test_unencodable_characters_raise_the_latin1_error(key, value, start, end):
    items = {"wsgi.url_scheme": "http", "HTTP_HOST": "h", key: value}
    errors = []
    for module in (std, ours):
        with pytest.raises(UnicodeEncodeError) as info:
            module.request_uri(dict(items))
        errors.append(info.value)
    for error in errors:
        assert (error.encoding, error.object, error.start, error.end, error.reason) == (
            "latin-1", value, start, end, "ordinal not in range(256)",
        )
    assert str(errors[0]) == str(errors[1])


def test_quote_keeps_the_always_safe_set_and_uppercase_escapes():
    every_latin1 = "".join(map(chr, range(256)))
    for key in ("SCRIPT_NAME", "PATH_INFO"):
        items = {"wsgi.url_scheme": "http", "HTTP_HOST": "h", "SCRIPT_NAME": "/s",
                 key: every_latin1}
        result = both("request_uri", items)
        assert result[0] == "returns" and "%E9" in result[2] and "%e9" not in result[2]


# ---------------------------------------------------------------------------
# shift_path_info corner cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script_name", "path_info", "name", "new_script_name", "new_path_info"),
    [
        ("", "/", "", "/", ""),
        ("", "/x", "x", "/x", ""),
        ("/a", "/x/y", "x", "/a/x", "/y"),
        ("/a", "/x/", "x", "/a/x", "/"),
        ("/a/b", "/../y", "..", "/a", "/y"),
        ("", "/../y", "..", "", "/y"),
        ("/a/b", "//y", "y", "/a/b/y", ""),
        ("/a/b", "//y/", "y", "/a/b/y", "/"),
        ("/a/b", "/./y/", "y", "/a/b/y", "/"),
        ("/a/b", "///./..//y/.//", "..", "/a", "/y/"),
        ("/a/b", "///", "", "/a/b/", ""),
        ("/a/b", "/.//", "", "/a/b/", ""),
        ("/a/b", "/x//", "x", "/a/b/x", "/"),
        ("/a/b", "/.", None, "/a/b", ""),  # the '/.' special case
        ("", "/.", None, "", ""),
        ("//", "/x", "x", "/x", ""),  # '///x' collapses to '/x'
        ("/", "/x", "x", "//x", ""),  # '//x' keeps both slashes
        ("a", "/..", "..", ".", ""),
        ("/a\x00b", "/c", "c", "/a\x00b/c", ""),
        ("/\ud800", "/\udc80/z", "\udc80", "/\ud800/\udc80", "/z"),
    ],
)
def test_shift_path_info_cases(script_name, path_info, name, new_script_name, new_path_info):
    for module in (std, ours):
        env = {"SCRIPT_NAME": script_name, "PATH_INFO": path_info}
        assert module.shift_path_info(env) == name
        assert env == {"SCRIPT_NAME": new_script_name, "PATH_INFO": new_path_info}


@pytest.mark.parametrize("items", [{}, {"PATH_INFO": ""}, {"PATH_INFO": None, "SCRIPT_NAME": 1}])
def test_shift_path_info_without_path_info_leaves_environ_alone(items):
    for module in (std, ours):
        env = dict(items)
        assert module.shift_path_info(env) is None
        assert env == items


def test_shift_path_info_key_order():
    # SCRIPT_NAME absent: it is appended after PATH_INFO; both are (re)assigned in order
    for module in (std, ours):
        env = {"PATH_INFO": "/a/b", "X": 1}
        module.shift_path_info(env)
        assert list(env) == ["PATH_INFO", "X", "SCRIPT_NAME"]
        recorder = Recorder({"PATH_INFO": "/a/b"})
        module.shift_path_info(recorder)
        assert recorder.calls == [
            ("get", "PATH_INFO", 1),
            ("get", "SCRIPT_NAME", 1),
            ("setitem", "SCRIPT_NAME"),
            ("setitem", "PATH_INFO"),
        ]


def test_shift_path_info_without_a_slash_raises_index_error():
    assert both("shift_path_info", {"PATH_INFO": "abc"}) == (
        "raises", IndexError, "list index out of range",
    )


# ---------------------------------------------------------------------------
# setup_testing_defaults corner cases
# ---------------------------------------------------------------------------


def test_setup_testing_defaults_keys_values_and_order():
    env = {}
    ours.setup_testing_defaults(env)
    expected = {}
    std.setup_testing_defaults(expected)
    assert list(env) == list(expected)
    for key, value in expected.items():
        if isinstance(value, (io.BytesIO, io.StringIO)):
            assert type(env[key]) is type(value)
        else:
            assert env[key] == value and type(env[key]) is type(value)
    assert env["wsgi.version"] == (1, 0) and type(env["wsgi.version"]) is tuple
    assert env["wsgi.run_once"] == 0 and type(env["wsgi.run_once"]) is int


def test_setup_testing_defaults_makes_fresh_streams_each_call():
    first, second = {}, {}
    ours.setup_testing_defaults(first)
    ours.setup_testing_defaults(second)
    assert first["wsgi.input"] is not second["wsgi.input"]
    assert first["wsgi.errors"] is not second["wsgi.errors"]
    first["wsgi.errors"].write("x")
    assert second["wsgi.errors"].getvalue() == ""


def test_setup_testing_defaults_never_overrides():
    sentinel = object()
    for key in KEYS + ["SERVER_PORT", "wsgi.run_once"]:
        env = {key: sentinel}
        ours.setup_testing_defaults(env)
        assert env[key] is sentinel


@pytest.mark.parametrize(
    ("items", "key", "value"),
    [
        ({"SERVER_NAME": "foo.bar"}, "HTTP_HOST", "foo.bar"),
        ({"HTTPS": "on"}, "wsgi.url_scheme", "https"),
        ({"HTTPS": "1"}, "wsgi.url_scheme", "https"),
        ({"HTTPS": "yes"}, "wsgi.url_scheme", "https"),
        ({"HTTPS": "foo"}, "wsgi.url_scheme", "http"),
        ({"HTTPS": "foo"}, "SERVER_PORT", "80"),
        ({"HTTPS": "on"}, "SERVER_PORT", "443"),
    ],
)
def test_setup_testing_defaults_cross_defaults(items, key, value):
    env = dict(items)
    ours.setup_testing_defaults(env)
    assert env[key] == value


def test_setup_testing_defaults_skips_script_name_when_either_is_present():
    for present in ("SCRIPT_NAME", "PATH_INFO"):
        env = {present: "/p"}
        ours.setup_testing_defaults(env)
        assert ("SCRIPT_NAME" in env) == (present == "SCRIPT_NAME")
        assert ("PATH_INFO" in env) == (present == "PATH_INFO")


def test_setup_testing_defaults_unknown_scheme_sets_no_port():
    env = {"wsgi.url_scheme": "ftp"}
    ours.setup_testing_defaults(env)
    assert "SERVER_PORT" not in env


def test_setup_testing_defaults_call_sequence_on_a_mapping():
    recorders = [Recorder({"HTTPS": "on"}) for _ in range(2)]
    std.setup_testing_defaults(recorders[0])
    ours.setup_testing_defaults(recorders[1])
    assert recorders[1].calls == recorders[0].calls
    assert ("getitem", "SERVER_NAME") in recorders[1].calls


# ---------------------------------------------------------------------------
# guess_scheme and is_hop_by_hop
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("https", "scheme"),
    [(None, "http"), ("foo", "http"), ("on", "https"), ("yes", "https"), ("1", "https"),
     ("ON", "http"), (1, "http"), (S("on"), "https")],
)
def test_guess_scheme(https, scheme):
    env = {} if https is None else {"HTTPS": https}
    assert ours.guess_scheme(env) == std.guess_scheme(env) == scheme


def test_guess_scheme_uses_get_with_one_argument():
    recorder = Recorder({})
    ours.guess_scheme(recorder)
    assert recorder.calls == [("get", "HTTPS", 0)]


@pytest.mark.parametrize(
    "hop",
    ["Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE",
     "Trailers", "Transfer-Encoding", "Upgrade"],
)
def test_is_hop_by_hop_every_spelling(hop):
    for alt in (hop, hop.title(), hop.upper(), hop.lower()):
        assert ours.is_hop_by_hop(alt) is True
    for other in ("Accept", "Cache-Control", "Date", "Pragma", "Trailer", "Via", "Warning"):
        assert ours.is_hop_by_hop(other) is False


def test_is_hop_by_hop_non_ascii_uses_python_lower():
    # KELVIN SIGN lowercases to ASCII 'k'
    assert ours.is_hop_by_hop("\u212aeep-Alive") is True
    assert ours.is_hop_by_hop(Upper("X")) is True


@pytest.mark.parametrize("bad", [None, 1, ["te"], 1.5])
def test_is_hop_by_hop_non_str_raises_like_stdlib(bad):
    with pytest.raises((AttributeError, TypeError)) as expected:
        std.is_hop_by_hop(bad)
    with pytest.raises(type(expected.value)) as got:
        ours.is_hop_by_hop(bad)
    assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------
# FileWrapper
# ---------------------------------------------------------------------------


def test_file_wrapper_reads_in_blocks_and_forwards_close():
    wrapper = ours.FileWrapper(io.StringIO("xyz" * 50), 120)
    assert not wrapper.filelike.closed
    assert list(wrapper) == ["xyz" * 40, "xyz" * 10]
    assert not wrapper.filelike.closed
    wrapper.close()
    assert wrapper.filelike.closed


def test_file_wrapper_close_only_when_the_filelike_has_one():
    wrapper = ours.FileWrapper(ReadOnly(b"ab"))
    assert not hasattr(wrapper, "close")
    with pytest.raises(AttributeError, match="'FileWrapper' object has no attribute 'close'"):
        wrapper.close  # noqa: B018
    stream = io.BytesIO(b"")
    wrapper = ours.FileWrapper(stream)
    assert wrapper.close == stream.close
    assert vars(wrapper)["close"] == stream.close


def test_file_wrapper_attributes_are_writable_and_deletable():
    wrapper = ours.FileWrapper(io.BytesIO(b"abcdef"))
    assert wrapper.blksize == 8192 and type(wrapper.blksize) is int
    wrapper.blksize = 4
    assert list(wrapper) == [b"abcd", b"ef"]
    wrapper.filelike = io.BytesIO(b"xyz")
    wrapper.blksize = None
    assert list(wrapper) == [b"xyz"]
    del wrapper.blksize
    messages = {}
    for module in (std, ours):
        wrapper = module.FileWrapper(io.BytesIO(b"x"))
        del wrapper.blksize
        with pytest.raises(AttributeError, match="'FileWrapper' object has no attribute 'blksize'"):
            next(wrapper)
        del wrapper.filelike
        message = "'FileWrapper' object has no attribute 'filelike'"
        with pytest.raises(AttributeError, match=message):
            next(wrapper)
        with pytest.raises(AttributeError) as deleted_twice:
            del wrapper.filelike
        with pytest.raises(AttributeError) as deleted_blksize_twice:
            del wrapper.blksize
        messages[module] = (str(deleted_twice.value), str(deleted_blksize_twice.value))
    # The running version's words: before 3.11, only the attribute's name.
    assert messages[ours] == messages[std]
    if sys.version_info >= (3, 11):
        assert messages[std][0] == "'FileWrapper' object has no attribute 'filelike'"
    else:
        assert messages[std] == ("filelike", "blksize")


def test_file_wrapper_getitem_follows_the_running_version():
    if sys.version_info >= (3, 11):
        # Removed in 3.11.
        assert not hasattr(ours.FileWrapper, "__getitem__")
        for module in (std, ours):
            with pytest.raises(TypeError, match="'FileWrapper' object is not subscriptable"):
                module.FileWrapper(io.BytesIO(b"x"))[0]
        return
    # 3.9 and 3.10: the next block whatever the key, a DeprecationWarning, IndexError at the end.
    outcomes = []
    for module in (std, ours):
        wrapper = module.FileWrapper(io.BytesIO(b"abcdefg"), 3)
        blocks = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for key in (5, "ignored", 0):
                blocks.append(wrapper[key])
            with pytest.raises(IndexError) as end:
                wrapper[3]
        outcomes.append(
            (blocks, end.value.args, [(w.category, str(w.message), w.filename) for w in caught])
        )
    assert outcomes[0] == outcomes[1]
    blocks, args, caught = outcomes[1]
    assert blocks == [b"abc", b"def", b"g"] and args == ()
    assert len(caught) == 4 and caught[0][0] is DeprecationWarning
    assert "Use iterator protocol instead" in caught[0][1]
    assert caught[0][2] == __file__  # stacklevel: the caller's line


def test_file_wrapper_subclasses():
    class Counting(ours.FileWrapper):
        def __init__(self, filelike, blksize):
            super().__init__(filelike, blksize)
            self.count = 0

        def __next__(self):
            self.count += 1
            return super().__next__()

    wrapper = Counting(io.BytesIO(b"abcde"), 2)
    assert isinstance(wrapper, ours.FileWrapper)
    assert list(wrapper) == [b"ab", b"cd", b"e"]
    assert wrapper.count == 4

    class Skips(ours.FileWrapper):
        def __init__(self):  # never calls super().__init__
            pass

    with pytest.raises(AttributeError, match="'Skips' object has no attribute 'filelike'"):
        next(Skips())

    class Property(ours.FileWrapper):
        @property
        def blksize(self):
            return 1

        @blksize.setter
        def blksize(self, value):
            pass

    assert list(Property(io.BytesIO(b"ab"), 100)) == [b"a", b"b"]


def test_file_wrapper_missing_argument_message():
    missing = "__init__() missing 1 required positional argument: 'filelike'"
    with pytest.raises(TypeError) as our_error:
        ours.FileWrapper()
    assert str(our_error.value) == f"FileWrapper.{missing}"
    with pytest.raises(TypeError) as std_error:
        std.FileWrapper()
    if sys.version_info >= (3, 10):
        assert str(std_error.value) == f"FileWrapper.{missing}"
    else:
        # 3.9 does not qualify a method's name; PyO3 does (a documented difference).
        assert str(std_error.value) == missing


@pytest.mark.parametrize("module", [std, ours])
def test_file_wrapper_attribute_access_order(module):
    calls = []

    class Spy(module.FileWrapper):
        @property
        def filelike(self):
            calls.append("get filelike")
            return self

        @filelike.setter
        def filelike(self, value):
            calls.append("set filelike")

        def __getattribute__(self, name):
            if name in ("read", "blksize"):
                calls.append("get " + name)
            return super().__getattribute__(name)

        def read(self, size):
            calls.append(("read", size))
            return b""

    wrapper = Spy(object(), 3)
    assert calls == ["set filelike"]
    with pytest.raises(StopIteration):
        next(wrapper)
    assert calls == ["set filelike", "get filelike", "get read", "get blksize", ("read", 3)]


def test_file_wrapper_weakref():
    import weakref

    wrapper = ours.FileWrapper(io.BytesIO(b""))
    assert weakref.ref(wrapper)() is wrapper


@pytest.mark.parametrize("module", [std, ours])
def test_file_wrapper_pickles_and_copies_like_stdlib(module):
    import copy

    wrapper = module.FileWrapper(io.BytesIO(b"abcde"), 2)
    wrapper.extra = "kept"
    clone = pickle.loads(pickle.dumps(wrapper))
    assert (clone.blksize, clone.extra, hasattr(clone, "close")) == (2, "kept", True)
    assert list(clone) == [b"ab", b"cd", b"e"]
    clone.close()
    assert clone.filelike.closed
    shallow = copy.copy(wrapper)
    assert shallow.filelike is wrapper.filelike and shallow.blksize == 2
    assert list(shallow) == [b"ab", b"cd", b"e"]
    assert list(wrapper) == []
