"""WSGI (PEP 3333) conformance checking middleware, with the API of the standard library's
``wsgiref.validate``.

``validator(app)`` returns an application that sits between a server and ``app`` and checks both
sides of every call, without changing the request or the response:

* the call itself: exactly two positional arguments; the same for ``start_response`` (two or
  three), and never keyword arguments;
* the environ: an exact ``dict`` with the required CGI and ``wsgi.*`` keys, CGI variables (keys
  without a dot) of type ``str``, ``wsgi.version`` a tuple, ``wsgi.url_scheme`` ``http`` or
  ``https``, ``SCRIPT_NAME``/``PATH_INFO`` empty or starting with ``/``, ``SCRIPT_NAME`` never
  ``/``, a non-negative ``CONTENT_LENGTH``, no ``HTTP_CONTENT_TYPE``/``HTTP_CONTENT_LENGTH``,
  usable ``wsgi.input`` and ``wsgi.errors`` objects;
* ``start_response``: a ``str`` status of a three-digit code >= 100, headers an exact ``list``
  of ``(str, str)`` tuples with well-formed names (no ``Status``), no control characters in
  values, a Content-Type exactly when the status allows a body, ``exc_info`` ``None`` or a tuple;
* the application's use of ``wsgi.input`` (``bytes`` results, ``read`` with one argument, no
  ``close``), of ``wsgi.errors`` (``str`` only, no ``close``) and of the ``write`` callable
  (``bytes`` only);
* the response iterable: not a ``str``/``bytes``, yields ``bytes`` only, is not iterated before
  ``start_response`` was called or after it was closed, and is closed (reported on ``stderr`` and
  by an assertion when it is garbage collected unclosed).

Broken rules raise ``AssertionError`` (with the same messages as the standard library); doubtful
ones (a missing ``QUERY_STRING``, an unknown method, a status without a reason phrase) warn with
:class:`WSGIWarning`.
"""

# The messages are built with %-formatting on purpose: they must come out exactly as the
# standard library's, including how `%` treats a tuple or mapping operand.
# ruff: noqa: UP031

import re
import sys
import warnings

__all__ = ["validator"]

# A header name: a letter, then letters, digits, '-' or '_'.
header_re = re.compile(r"^[A-Za-z][-A-Za-z0-9_]*$")
# Characters not allowed in a header value: the C0 controls, U+0000 to U+001F.
bad_header_value_re = re.compile(r"[\x00-\x1f]")

_REQUIRED_KEYS = (
    "REQUEST_METHOD",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.version",
    "wsgi.input",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
)
_KNOWN_METHODS = ("GET", "HEAD", "POST", "OPTIONS", "PATCH", "PUT", "DELETE", "TRACE")
_NO_BODY_STATUSES = (204, 304)


class WSGIWarning(Warning):
    """Warns about a doubtful (rather than a forbidden) use of the WSGI protocol."""


def assert_(cond, *args):
    """Raise ``AssertionError(*args)`` when ``cond`` is false (never optimised away by -O)."""
    if not cond:
        raise AssertionError(*args)


def check_string_type(value, title):
    """Return ``value`` if its type is exactly ``str``; raise ``AssertionError`` otherwise."""
    if type(value) is not str:
        raise AssertionError(f"{title} must be of type str (got {value!r})")
    return value


def validator(application):
    """Wrap the WSGI ``application`` in a middleware that checks every WSGI rule it can.

    The result behaves exactly like ``application`` but raises ``AssertionError`` as soon as the
    server or the application breaks the protocol (see the module documentation). A response
    iterable that is never closed can only be reported when it is garbage collected: on
    ``sys.stderr``, and by an (ignored) ``AssertionError``.
    """

    def lint_app(*args, **kw):
        assert_(len(args) == 2, "Two arguments required")
        assert_(not kw, "No keyword arguments allowed")
        environ, start_response = args

        check_environ(environ)

        # Gets an item when the application calls start_response; IteratorWrapper checks it.
        start_response_called = []

        def start_response_wrapper(*args, **kw):
            assert_(len(args) in (2, 3), "Invalid number of arguments: %s" % (args,))
            assert_(not kw, "No keyword arguments allowed")
            status = args[0]
            headers = args[1]
            exc_info = args[2] if len(args) == 3 else None

            check_status(status)
            check_headers(headers)
            check_content_type(status, headers)
            check_exc_info(exc_info)

            start_response_called.append(None)
            return WriteWrapper(start_response(*args))

        environ["wsgi.input"] = InputWrapper(environ["wsgi.input"])
        environ["wsgi.errors"] = ErrorWrapper(environ["wsgi.errors"])

        iterator = application(environ, start_response_wrapper)
        assert_(
            iterator is not None and iterator != False,  # noqa: E712 (`!=` itself is part of the check)
            "The application must return an iterator, if only an empty list",
        )

        check_iterator(iterator)

        return IteratorWrapper(iterator, start_response_called)

    return lint_app


class InputWrapper:
    """Checks the application's use of ``wsgi.input`` (the original is ``self.input``)."""

    def __init__(self, wsgi_input):
        self.input = wsgi_input

    def read(self, *args):
        assert_(len(args) == 1)
        data = self.input.read(*args)
        assert_(type(data) is bytes)
        return data

    def readline(self, *args):
        assert_(len(args) <= 1)
        line = self.input.readline(*args)
        assert_(type(line) is bytes)
        return line

    def readlines(self, *args):
        assert_(len(args) <= 1)
        lines = self.input.readlines(*args)
        assert_(type(lines) is list)
        for line in lines:
            assert_(type(line) is bytes)
        return lines

    def __iter__(self):
        # Line by line, through self.readline(), until an empty line.
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def close(self):
        assert_(0, "input.close() must not be called")


class ErrorWrapper:
    """Checks the application's use of ``wsgi.errors`` (the original is ``self.errors``)."""

    def __init__(self, wsgi_errors):
        self.errors = wsgi_errors

    def write(self, s):
        assert_(type(s) is str)
        self.errors.write(s)

    def flush(self):
        self.errors.flush()

    def writelines(self, seq):
        for line in seq:
            self.write(line)

    def close(self):
        assert_(0, "errors.close() must not be called")


class WriteWrapper:
    """Checks calls of the ``write`` callable that ``start_response`` returned."""

    def __init__(self, wsgi_writer):
        self.writer = wsgi_writer

    def __call__(self, s):
        assert_(type(s) is bytes)
        self.writer(s)


class PartialIteratorWrapper:
    """An iterable whose ``__iter__`` gives an :class:`IteratorWrapper` without the
    start_response check."""

    def __init__(self, wsgi_iterator):
        self.iterator = wsgi_iterator

    def __iter__(self):
        return IteratorWrapper(self.iterator, None)


class IteratorWrapper:
    """Checks the response iterable: ``bytes`` items, start_response first, closed once done.

    ``check_start_response`` is the list that start_response fills (or ``None`` for no check).
    """

    def __init__(self, wsgi_iterator, check_start_response):
        self.original_iterator = wsgi_iterator
        self.iterator = iter(wsgi_iterator)
        self.closed = False
        self.check_start_response = check_start_response

    def __iter__(self):
        return self

    def __next__(self):
        assert_(not self.closed, "Iterator read after closed")
        item = next(self.iterator)
        if type(item) is not bytes:
            assert_(False, "Iterator yielded non-bytestring (%r)" % (item,))
        if self.check_start_response is not None:
            assert_(
                self.check_start_response,
                "The application returns and we started iterating over its body, but "
                "start_response has not yet been called",
            )
            self.check_start_response = None
        return item

    def close(self):
        self.closed = True
        if hasattr(self.original_iterator, "close"):
            self.original_iterator.close()

    def __del__(self):
        if not self.closed:
            sys.stderr.write("Iterator garbage collected without being closed")
        assert_(self.closed, "Iterator garbage collected without being closed")


def check_environ(environ):
    """Check the WSGI environ ``environ`` (see the module documentation)."""
    assert_(
        type(environ) is dict,
        "Environment is not of the right type: %r (environment: %r)" % (type(environ), environ),
    )

    for key in _REQUIRED_KEYS:
        assert_(key in environ, "Environment missing required key: %r" % (key,))

    for key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        assert_(
            key not in environ,
            "Environment should not have the key: %s (use %s instead)" % (key, key[5:]),
        )

    if "QUERY_STRING" not in environ:
        warnings.warn(
            "QUERY_STRING is not in the WSGI environment; the cgi module will use sys.argv "
            "when this variable is missing, so application errors are more likely",
            WSGIWarning,
        )

    for key in environ:
        if "." in key:
            # A server or application extension: any type is fine.
            continue
        assert_(
            type(environ[key]) is str,
            "Environmental variable %s is not a string: %r (value: %r)"
            % (key, type(environ[key]), environ[key]),
        )

    assert_(
        type(environ["wsgi.version"]) is tuple,
        "wsgi.version should be a tuple (%r)" % (environ["wsgi.version"],),
    )
    assert_(
        environ["wsgi.url_scheme"] in ("http", "https"),
        "wsgi.url_scheme unknown: %r" % environ["wsgi.url_scheme"],
    )

    check_input(environ["wsgi.input"])
    check_errors(environ["wsgi.errors"])

    if environ["REQUEST_METHOD"] not in _KNOWN_METHODS:
        warnings.warn("Unknown REQUEST_METHOD: %r" % environ["REQUEST_METHOD"], WSGIWarning)

    for key in ("SCRIPT_NAME", "PATH_INFO"):
        assert_(
            not environ.get(key) or environ[key].startswith("/"),
            "%s doesn't start with /: %r" % (key, environ[key]),
        )
    if environ.get("CONTENT_LENGTH"):
        assert_(
            int(environ["CONTENT_LENGTH"]) >= 0,
            "Invalid CONTENT_LENGTH: %r" % environ["CONTENT_LENGTH"],
        )

    if not environ.get("SCRIPT_NAME"):
        assert_(
            "PATH_INFO" in environ,
            "One of SCRIPT_NAME or PATH_INFO are required (PATH_INFO should at least be '/' "
            "if SCRIPT_NAME is empty)",
        )
    assert_(
        environ.get("SCRIPT_NAME") != "/",
        "SCRIPT_NAME cannot be '/'; it should instead be '', and PATH_INFO should be '/'",
    )


def check_input(wsgi_input):
    """Check that ``wsgi_input`` has the methods of a WSGI input stream."""
    for attr in ("read", "readline", "readlines", "__iter__"):
        assert_(
            hasattr(wsgi_input, attr),
            "wsgi.input (%r) doesn't have the attribute %s" % (wsgi_input, attr),
        )


def check_errors(wsgi_errors):
    """Check that ``wsgi_errors`` has the methods of a WSGI error stream."""
    for attr in ("flush", "write", "writelines"):
        assert_(
            hasattr(wsgi_errors, attr),
            "wsgi.errors (%r) doesn't have the attribute %s" % (wsgi_errors, attr),
        )


def check_status(status):
    """Check a status line given to start_response ("200 OK")."""
    status = check_string_type(status, "Status")
    code = status.split(None, 1)[0]
    assert_(len(code) == 3, "Status codes must be three characters: %r" % code)
    number = int(code)
    assert_(number >= 100, "Status code is invalid: %r" % number)
    if len(status) < 4 or status[3] != " ":
        warnings.warn(
            "The status string (%r) should be a three-digit integer followed by a single space "
            "and a status explanation" % status,
            WSGIWarning,
        )


def check_headers(headers):
    """Check the header list given to start_response."""
    assert_(
        type(headers) is list,
        "Headers (%r) must be of type list: %r" % (headers, type(headers)),
    )
    for item in headers:
        assert_(
            type(item) is tuple,
            "Individual headers (%r) must be of type tuple: %r" % (item, type(item)),
        )
        assert_(len(item) == 2)
        name, value = item
        name = check_string_type(name, "Header name")
        value = check_string_type(value, "Header value")
        assert_(
            name.lower() != "status",
            "The Status header cannot be used; it conflicts with CGI script, and HTTP status "
            "is not given through headers (value: %r)." % value,
        )
        assert_(
            "\n" not in name and ":" not in name,
            "Header names may not contain ':' or '\\n': %r" % name,
        )
        assert_(header_re.search(name), "Bad header name: %r" % name)
        assert_(
            not name.endswith("-") and not name.endswith("_"),
            "Names may not end in '-' or '_': %r" % name,
        )
        bad = bad_header_value_re.search(value)
        if bad:
            assert_(0, "Bad header value: %r (bad char: %r)" % (value, bad.group(0)))


def check_content_type(status, headers):
    """Check that a Content-Type header is there exactly when the status allows a body."""
    status = check_string_type(status, "Status")
    code = int(status.split(None, 1)[0])
    for name, _value in headers:
        name = check_string_type(name, "Header name")
        if name.lower() == "content-type":
            if code not in _NO_BODY_STATUSES:
                return
            assert_(
                0,
                "Content-Type header found in a %s response, which must not return content." % code,
            )
    if code not in _NO_BODY_STATUSES:
        assert_(0, "No Content-Type header found in headers (%s)" % headers)


def check_exc_info(exc_info):
    """Check the ``exc_info`` argument of start_response: ``None`` or a tuple."""
    assert_(
        exc_info is None or type(exc_info) is tuple,
        "exc_info (%r) is not a tuple: %r" % (exc_info, type(exc_info)),
    )


def check_iterator(iterator):
    """Check that the application did not return a ``str`` or ``bytes`` as its body."""
    # A bytes object is technically iterable, but would be sent one byte at a time.
    assert_(
        not isinstance(iterator, (str, bytes)),
        "You should not return a string as your application iterator, instead return a "
        "single-item list containing a bytestring.",
    )
