"""Tests of wsgiref_rs.headers against the standard library's wsgiref.headers.

The reference is the interpreter's own ``wsgiref.headers.Headers``. The newest CPython also
rejects control characters in names and values; the interpreter here may be older, so the
reference is a test-only subclass that adds that check at the very call sites where the newest
CPython makes it (found from the calling line of the standard library's source).
"""

import copy
import linecache
import pickle
import re
import subprocess
import sys
import weakref
import wsgiref.headers as std_headers

import pytest
from examples import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wsgiref_rs.headers as rs_headers
from wsgiref_rs._native import Headers as NativeHeaders

Ours = rs_headers.Headers

DIFF = settings(
    max_examples=examples(10_000),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

# ---------------------------------------------------------------------------------------------
# The reference: the stdlib class plus the newest CPython's control-character check.
# ---------------------------------------------------------------------------------------------

_STD_FILE = std_headers.__file__
_NAME_DISALLOWED = re.compile(r"[\x00-\x1F\x7F]")
_VALUE_DISALLOWED = re.compile(r"[\x00-\x08\x0A-\x1F\x7F]")
# The argument text of each `self._convert_string_type(...)` call in the stdlib's source, by
# whether the newest CPython passes name=True there.
_NAME_ARGS = {"k", "name", "name.lower()", "_name"}
_VALUE_ARGS = {"v", "val", "value", "_value"}
_SITE_KIND = {}


def _call_site_is_name():
    """Whether the stdlib line calling `_convert_string_type` checks a name (else a value)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename != _STD_FILE:
        frame = frame.f_back
    assert frame is not None, "_convert_string_type called from outside wsgiref.headers"
    key = (frame.f_code, frame.f_lasti)
    kind = _SITE_KIND.get(key)
    if kind is None:
        if hasattr(frame.f_code, "co_positions"):  # Python 3.11 on: the call's own columns
            line, end_line, col, end_col = list(frame.f_code.co_positions())[frame.f_lasti // 2]
            assert line == end_line
            text = linecache.getline(_STD_FILE, line).encode()[col:end_col].decode()
            arg = text[text.index("(") + 1 : text.rindex(")")].strip()
        else:
            arg = _call_argument_before_3_11(frame)
        assert arg in _NAME_ARGS | _VALUE_ARGS, arg
        kind = _SITE_KIND[key] = arg in _NAME_ARGS
    return kind


_CALL = re.compile(r"_convert_string_type\(((?:[^()]|\(\))*)\)")


def _call_argument_before_3_11(frame):
    """The argument text of the `_convert_string_type` call running in `frame`, without column
    positions (Python 3.9, 3.10): the calls on its line, in the order of their bytecode, are
    the calls in the line's text, left to right."""
    import dis

    line = frame.f_lineno
    offsets, pending, current = [], [], None
    for instruction in dis.get_instructions(frame.f_code):
        if instruction.starts_line is not None:
            current = instruction.starts_line
        # A method called with positional arguments, as the stdlib calls it, is a LOAD_METHOD
        # and its CALL_METHOD, nested like the calls themselves.
        if instruction.opname == "LOAD_METHOD":
            pending.append(instruction.argval)
        elif instruction.opname == "CALL_METHOD" and pending:
            if pending.pop() == "_convert_string_type" and current == line:
                offsets.append(instruction.offset)
    texts = _CALL.findall(linecache.getline(_STD_FILE, line))
    assert len(texts) == len(offsets), (line, texts, offsets)
    return texts[offsets.index(frame.f_lasti)].strip()


class Headers(std_headers.Headers):  # named Headers so that repr() reads the same
    """The stdlib class with the newest CPython's control-character check."""

    def _convert_string_type(self, value, *, name=None):
        if name is None:
            name = _call_site_is_name()
        value = super()._convert_string_type(value)
        if (_NAME_DISALLOWED if name else _VALUE_DISALLOWED).search(value):
            raise ValueError("Control characters not allowed in headers")
        return value


Ref = Headers

# ---------------------------------------------------------------------------------------------
# Odd objects.
# ---------------------------------------------------------------------------------------------

KELVIN = "\u212a"


class S(str):
    """A str subclass: `lower()` gives an exact str, but the type check rejects it."""


class Shouting(str):
    """A str subclass whose lower() does not lower."""

    def lower(self):
        return "SHOUT"


class NoLower:
    """Neither str nor with a lower() method."""

    def __repr__(self):
        return "NoLower()"


class LowerBoom:
    def lower(self):
        raise RuntimeError("boom in lower")

    def __repr__(self):
        return "LowerBoom()"


class StrBoom(str):
    def __str__(self):
        raise RuntimeError("boom in str")


class Pairish:
    """Iterable (a fresh iterator each time) and indexable, but not a tuple."""

    def __iter__(self):
        return iter(("Content-Type", "pair"))

    def __getitem__(self, index):
        return ("Content-Type", "pair")[index]

    def __repr__(self):
        return "Pairish()"


def outcome(func, *args, **kwargs):
    """The result of a call, or its exception as (type, message)."""
    try:
        return ("ok", norm(func(*args, **kwargs)))
    except Exception as e:  # noqa: BLE001 - every error is compared
        return ("error", type(e), str(e))


def norm(x):
    """A comparable form of a value: types matter (str vs str subclass), not identity."""
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(norm(i) for i in x))
    return (type(x).__name__, repr(x))


# ---------------------------------------------------------------------------------------------
# Strategies.
# ---------------------------------------------------------------------------------------------

NAME_POOL = [
    "Content-Type",
    "content-type",
    "CONTENT-TYPE",
    "X-Foo",
    "x-foo",
    "x_foo",
    "Set-Cookie",
    "set-cookie",
    KELVIN + "ey",
    "Key",
    "key",
    "KEY",
    "k",
    "K",
    KELVIN,
    "\u00df",
    "SS",
    "ss",
    "\u0130",
    "i\u0307",
    "I",
    "i",
    "\u03a3",
    "\u03c3",
    "\u03c2",
    "",
    " ",
    "caf\u00e9",
    "CAF\u00c9",
    "\u0100",
    "\u65e5\u672c",
    "\u017f",
    "\ufb00",
    "\ud800",
    "X-\udcff",
]
CONTROL_NAMES = ["a\tb", "a\nb", "\x00", "\x1f", "\x7f", "\r\nX-Injected: 1", "\x85"]
NAME_ALPHABET = "aAkK-_ \u212a\u00e9\u00c9\u0130\u03a3\u017f\ud800"
CONTROL_ALPHABET = NAME_ALPHABET + "\t\n\r\x00\x08\x0b\x1f\x7f"

VALUE_POOL = [
    "text/plain",
    "",
    " ",
    "a\tb",
    "\t",
    "\u00ff",
    "\u0100",
    "\ud800",
    'say "hi"',
    "back\\slash",
    "it's",
    "both ' and \"",
    "caf\u00e9",
    "\u65e5\u672c",
    "a=b; Path=/",
]
CONTROL_VALUES = ["a\nb", "a\rb", "\x00", "\x08", "\x0b", "\x1f", "\x7f", "\r\n\r\n<html>"]
VALUE_ALPHABET = "ab \"\\;=\t\u00ff\u0100\ud800'\u212a"

clean_names = st.one_of(st.sampled_from(NAME_POOL), st.text(alphabet=NAME_ALPHABET, max_size=4))
clean_values = st.one_of(
    st.sampled_from(VALUE_POOL),
    st.text(alphabet=VALUE_ALPHABET, max_size=6),
    st.text(max_size=4).filter(lambda v: not _VALUE_DISALLOWED.search(v)),
)
any_names = st.one_of(
    clean_names,
    st.sampled_from(CONTROL_NAMES),
    st.text(alphabet=CONTROL_ALPHABET, max_size=4),
)
any_values = st.one_of(
    clean_values,
    st.sampled_from(CONTROL_VALUES),
    st.text(alphabet=VALUE_ALPHABET + "\n\r\x00\x7f", max_size=6),
)
ODD_OBJECTS = [
    1,
    None,
    b"X-Foo",
    b"content-type",
    1.5,
    S("X-Foo"),
    S("x\x00"),
    S("content-type"),
    Shouting("Content-Type"),
    NoLower(),
    LowerBoom(),
    ("a",),
    ["Content-Type"],
]
odd_objects = st.sampled_from(ODD_OBJECTS)
name_args = st.one_of(any_names, any_names, any_names, odd_objects)
value_args = st.one_of(any_values, any_values, any_values, odd_objects)

clean_items = st.tuples(clean_names, clean_values)
ODD_ITEMS = [
    ["Content-Type", "text/plain"],
    ("A", "b", "c"),
    ("A",),
    (),
    "ab",
    "Content-Type",
    1,
    None,
    (1, "x"),
    ("A", 1),
    (S("A"), "b"),
    ("A", S("b")),
    (Shouting("Content-Type"), "v"),
    (b"A", "b"),
    ("A", None),
    (NoLower(), "v"),
    (LowerBoom(), "v"),
    (StrBoom("k"), "v"),
    ("Content-Type", StrBoom("v")),
    ("a\nb", "c"),
    ("a", "b\r\n"),
    ("A", "\u0100"),
    (KELVIN, "kelvin"),
    Pairish(),
    {"K": "v", "X": "y"},
    {"K": "v"},
]
odd_items = st.sampled_from(ODD_ITEMS)
any_items = st.one_of(clean_items, clean_items, st.tuples(any_names, any_values), odd_items)

param_keys = st.text(alphabet="ab_Zk\u212a\u00e9-\t\n\x00\ud800", max_size=4)
param_values = st.one_of(st.none(), any_values, any_values, odd_objects)
params = st.lists(st.tuples(param_keys, param_values), max_size=3, unique_by=lambda kv: kv[0])

ops = st.one_of(
    st.tuples(st.just("get"), name_args),
    st.tuples(st.just("get_default"), name_args, value_args),
    st.tuples(st.just("getitem"), name_args),
    st.tuples(st.just("contains"), name_args),
    st.tuples(st.just("setitem"), name_args, value_args),
    st.tuples(st.just("delitem"), name_args),
    st.tuples(st.just("setdefault"), name_args, value_args),
    st.tuples(st.just("get_all"), name_args),
    st.tuples(st.just("probe"), clean_names),
    st.tuples(st.just("add_header"), name_args, st.one_of(st.none(), value_args), params),
    st.tuples(st.just("append_raw"), any_items),
    st.tuples(st.just("pop_raw")),
    st.tuples(st.sampled_from(["keys", "values", "items", "str", "bytes", "repr", "len", "bool"])),
)


def apply(h, lst, op):
    kind, *args = op
    if kind == "get":
        return outcome(h.get, args[0])
    if kind == "get_default":
        return outcome(h.get, args[0], args[1])
    if kind == "getitem":
        return outcome(lambda: h[args[0]])
    if kind == "contains":
        return outcome(lambda: args[0] in h)
    if kind == "setitem":
        return outcome(h.__setitem__, args[0], args[1])
    if kind == "delitem":
        return outcome(h.__delitem__, args[0])
    if kind == "setdefault":
        return outcome(h.setdefault, args[0], args[1])
    if kind == "get_all":
        return outcome(h.get_all, args[0])
    if kind == "probe":
        # Unicode case mapping (KELVIN SIGN, dotted I, sigma, sharp s) as the interpreter does.
        name = args[0]
        return [
            (outcome(h.get, p), outcome(h.get_all, p), outcome(h.__contains__, p))
            for p in {name, name.upper(), name.lower(), name.swapcase(), name.casefold()}
        ]
    if kind == "add_header":
        return outcome(h.add_header, args[0], args[1], **dict(args[2]))
    if kind == "append_raw":
        lst.append(args[0])
        return None
    if kind == "pop_raw":
        return outcome(lst.pop)
    if kind == "keys":
        return outcome(h.keys)
    if kind == "values":
        return outcome(h.values)
    if kind == "items":
        return outcome(h.items)
    if kind == "str":
        return outcome(str, h)
    if kind == "bytes":
        return outcome(bytes, h)
    if kind == "repr":
        return outcome(repr, h)
    if kind == "len":
        return outcome(len, h)
    if kind == "bool":
        return outcome(bool, h)
    raise AssertionError(kind)


def construct(cls, lst):
    """(instance or None, outcome of the construction)."""
    try:
        return cls(lst), ("ok",)
    except Exception as e:  # noqa: BLE001 - every error is compared
        return None, ("error", type(e), str(e))


# ---------------------------------------------------------------------------------------------
# Differential properties.
# ---------------------------------------------------------------------------------------------


@DIFF
@given(
    st.one_of(
        st.lists(any_items, max_size=6),
        st.lists(clean_items, max_size=6),
        st.sampled_from([None, (), ("a", "b"), {}, "foo", b"", 0]),
        st.lists(clean_items, max_size=3).map(tuple),
    )
)
def test_init_differential(headers):
    ref_arg = list(headers) if type(headers) is list else headers
    our_arg = list(headers) if type(headers) is list else headers
    assert outcome(Ours, our_arg) == outcome(Ref, ref_arg)
    if type(headers) is list:
        assert norm(our_arg) == norm(ref_arg)


def pass_through(base):
    """A subclass overriding, without changing them, every method the base reaches through
    self: drives the native class down its dispatching paths."""

    class PassThrough(base):
        def _convert_string_type(self, value, **kwargs):
            return super()._convert_string_type(value, **kwargs)

        def get(self, name, default=None):
            return super().get(name, default)

        def __delitem__(self, name):
            super().__delitem__(name)

        def __str__(self):
            return super().__str__()

    PassThrough.__name__ = "Headers"
    return PassThrough


REF_CLASSES = {False: Ref, True: pass_through(Ref)}
OUR_CLASSES = {False: Ours, True: pass_through(Ours)}


@DIFF
@given(
    st.booleans(),
    st.lists(clean_items, max_size=5),
    st.lists(any_items, max_size=2),
    st.lists(ops, max_size=6),
)
def test_operations_differential(subclassed, items, extra, operations):
    """The same operations on both; `extra` items are put in the list behind the class's back,
    so every method also meets odd list content."""
    ref_list, our_list = list(items), list(items)
    ref, ref_init = construct(REF_CLASSES[subclassed], ref_list)
    ours, our_init = construct(OUR_CLASSES[subclassed], our_list)
    assert our_init == ref_init
    if ref is None:
        return
    ref_list.extend(extra)
    our_list.extend(extra)
    for op in operations:
        assert apply(ours, our_list, op) == apply(ref, ref_list, op), op
        assert norm(our_list) == norm(ref_list), op
        assert ours._headers is our_list and ref._headers is ref_list


@DIFF
@given(
    st.lists(clean_items, max_size=3),
    name_args,
    st.one_of(st.none(), value_args),
    params,
)
def test_add_header_differential(items, name, value, param_list):
    ref_list, our_list = list(items), list(items)
    ref, ours = Ref(ref_list), Ours(our_list)
    kwargs = dict(param_list)
    assert outcome(ours.add_header, name, value, **kwargs) == outcome(
        ref.add_header, name, value, **kwargs
    )
    assert norm(our_list) == norm(ref_list)
    assert outcome(bytes, ours) == outcome(bytes, ref)


# ---------------------------------------------------------------------------------------------
# The interface, as CPython's own test suite exercises it (rewritten here).
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Ref, Ours])
def test_mapping_interface(cls):
    pair = [("x", "y")]
    assert len(cls()) == 0
    assert len(cls([])) == 0
    assert len(cls(list(pair))) == 1
    assert cls(list(pair)).keys() == ["x"]
    assert cls(list(pair)).values() == ["y"]
    assert cls(list(pair)).items() == pair
    assert cls(pair).items() is not pair

    h = cls()
    del h["foo"]
    h["Foo"] = "bar"
    for method in (h.__contains__, h.get, h.get_all, h.__getitem__):
        for probe in ("foo", "Foo", "FOO"):
            assert method(probe)
        assert not method("bar")
    assert h["foo"] == "bar"
    h["foo"] = "baz"
    assert h["FOO"] == "baz"
    assert h.get_all("foo") == ["baz"]
    assert h.get("foo", "whee") == "baz"
    assert h.get("zoo", "whee") == "whee"
    assert h.setdefault("foo", "whee") == "baz"
    assert h.setdefault("zoo", "whee") == "whee"
    assert h["foo"] == "baz"
    assert h["zoo"] == "whee"
    assert h.items() == [("foo", "baz"), ("zoo", "whee")]


@pytest.mark.parametrize("cls", [Ref, Ours])
def test_extras(cls):
    h = cls()
    assert str(h) == "\r\n"
    assert bytes(h) == b"\r\n"
    h.add_header("foo", "bar", baz="spam")
    assert h["foo"] == 'bar; baz="spam"'
    assert str(h) == 'foo: bar; baz="spam"\r\n\r\n'
    h.add_header("Foo", "bar", cheese=None)
    assert h.get_all("foo") == ['bar; baz="spam"', "bar; cheese"]
    assert str(h) == 'foo: bar; baz="spam"\r\nFoo: bar; cheese\r\n\r\n'
    h.add_header("content-disposition", "attachment", filename="bud.gif")
    assert h["Content-Disposition"] == 'attachment; filename="bud.gif"'
    h.add_header("X", None, file_name='a "b" \\c', empty="", bare=None)
    assert h["x"] == 'file-name="a \\"b\\" \\\\c"; empty; bare'
    h.add_header("Y", None)
    assert h["y"] == ""
    h.add_header("Z", "", a="1")
    assert h["z"] == '; a="1"'


@pytest.mark.parametrize("bad", ["foo", ("a", "b"), (), {}, 0, b"", [("a", "b")].__iter__()])
def test_require_list(bad):
    for cls in (Ref, Ours):
        with pytest.raises(TypeError) as info:
            cls(bad)
        assert str(info.value) == "Headers must be a list of name/value tuples"


def test_list_subclass_is_rejected_like_stdlib():
    class L(list):
        pass

    for cls in (Ref, Ours):
        with pytest.raises(TypeError, match="must be a list of name/value tuples"):
            cls(L())
        assert cls(None).items() == []
        assert cls(headers=[("a", "b")]).items() == [("a", "b")]


# ---------------------------------------------------------------------------------------------
# The wrapped list.
# ---------------------------------------------------------------------------------------------


def test_wraps_the_very_list():
    lst = [("A", "1"), ("B", "2"), ("a", "3")]
    h = Ours(lst)
    assert h._headers is lst
    h["c"] = "4"
    assert lst[-1] == ("c", "4")
    del h["a"]
    assert lst == [("B", "2"), ("c", "4")]
    assert h._headers is lst
    h.setdefault("D", "5")
    h.add_header("E", "6", q=None)
    assert lst == [("B", "2"), ("c", "4"), ("D", "5"), ("E", "6; q")]
    lst.append(("F", "7"))
    assert h["f"] == "7"
    assert len(h) == 5
    lst.clear()
    assert not h
    assert str(h) == "\r\n"


def test_delitem_rewrites_in_place():
    lst = [("A", "1"), ("x", "2"), ("a", "3")]
    alias = lst
    h = Ours(lst)
    del h["A"]
    assert alias is lst and lst == [("x", "2")]
    del h["missing"]
    assert lst == [("x", "2")]


def test_headers_attribute_is_writable():
    h = Ours([("A", "1")])
    new = [("B", "2")]
    h._headers = new
    assert h._headers is new
    assert h["b"] == "2" and h["a"] is None
    h["C"] = "3"
    assert new == [("B", "2"), ("C", "3")]
    with pytest.raises(TypeError):
        h._headers = ("not", "a list")
    with pytest.raises(AttributeError):
        del h._headers


def test_items_keys_values_are_new_lists():
    lst = [("A", "1"), ("B", "2")]
    h = Ours(lst)
    for method in (h.items, h.keys, h.values):
        first, second = method(), method()
        assert first == second and first is not second and first is not lst
    h.items().append(("C", "3"))
    assert len(lst) == 2


def test_list_mutated_during_lookup():
    """A key whose lower() changes the list while the search runs: same as the stdlib."""

    # The reference's __init__ rejects the str subclass: fill the list behind its back.
    def run_unchecked(cls):
        h = cls()
        lst = h._headers

        class Sneaky(str):
            def lower(self):
                if len(lst) < 10:
                    lst.append(("Late", "v"))
                lst.pop(0)
                return str.lower(self)

        lst.extend([(Sneaky("A"), "1"), (Sneaky("b"), "2"), ("late", "3"), ("x", "4")])
        return (
            outcome(h.get, "late"),
            outcome(h.get_all, "late"),
            outcome(h.__delitem__, "b"),
            norm(lst),
            outcome(h.keys),
        )

    assert run_unchecked(Ours) == run_unchecked(Ref)


# ---------------------------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_items",
    [
        [(1, "a")],
        [("a", 1)],
        [(S("a"), "b")],
        [("a", S("b"))],
        [("a", None)],
        [(b"a", "b")],
        [("a", "b", "c")],
        [("a",)],
        [1],
        ["ab"],
        ["abc"],
        [["a", "b"]],
        [("a\x00", "b")],
        [("a\tb", "c")],
        [("a", "b\x7f")],
        [("a", "b\nc")],
        [("ok", "fine"), ("bad", 2)],
    ],
)
def test_init_errors_match(bad_items):
    ref = outcome(Ref, list(bad_items))
    ours = outcome(Ours, list(bad_items))
    assert ours == ref
    assert ours[0] in ("error", "ok")


def test_error_messages():
    h = Ours()
    with pytest.raises(AssertionError) as info:
        h["a"] = 1
    assert str(info.value) == "Header names/values must be of type str (got 1)"
    with pytest.raises(AssertionError) as info:
        h[S("a")] = "b"
    assert str(info.value) == "Header names/values must be of type str (got 'a')"
    with pytest.raises(AttributeError) as info:
        h.get(1)
    assert str(info.value) == "'int' object has no attribute 'lower'"
    with pytest.raises(AssertionError) as info:
        h.get(b"X")
    assert str(info.value) == "Header names/values must be of type str (got b'x')"
    with pytest.raises(ValueError) as info:
        h["X-Bad\r\nInjected"] = "1"
    assert str(info.value) == "Control characters not allowed in headers"
    assert h.items() == []


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.__setitem__("a\tb", "v"),
        lambda h: h.__setitem__("a", "v\n"),
        lambda h: h.__setitem__("a", "v\x00"),
        lambda h: h.__setitem__("a", "v\x7f"),
        lambda h: h.get("a\x00"),
        lambda h: h.get_all("a\n"),
        lambda h: h.__delitem__("a\x7f"),
        lambda h: h.__contains__("a\r"),
        lambda h: h.setdefault("new\t", "v"),
        lambda h: h.setdefault("new", "v\r\n"),
        lambda h: h.add_header("a\nb", "v"),
        lambda h: h.add_header("a", "v\n"),
        lambda h: h.add_header("a", "v", **{"k\n": "x"}),
        lambda h: h.add_header("a", "v", **{"k\t": None}),
        lambda h: h.add_header("a", "v", k="x\x00"),
    ],
)
def test_control_characters_rejected(call):
    left = []
    for cls in (Ref, Ours):
        h = cls([("a", "1"), ("b", "2")])
        with pytest.raises(ValueError, match="^Control characters not allowed in headers$"):
            call(h)
        left.append(h.items())
    assert left[0] == left[1]
    assert ("b", "2") in left[1]


def test_tab_allowed_in_values_only():
    for cls in (Ref, Ours):
        h = cls([("A", "x\ty")])
        h["B"] = "\t"
        h.add_header("C", "1\t2", k="\t")
        assert h.items() == [("A", "x\ty"), ("B", "\t"), ("C", '1\t2; k="\t"')]
        with pytest.raises(ValueError):
            h["\t"] = "x"


def test_setitem_deletes_before_the_type_check():
    for cls in (Ref, Ours):
        h = cls([("A", "1"), ("b", "2")])
        with pytest.raises(AssertionError):
            h[S("a")] = "x"
        assert h.items() == [("b", "2")]


def test_add_header_check_order():
    for cls in (Ref, Ours):
        h = cls()
        with pytest.raises(AssertionError, match=r"got 1\)"):
            h.add_header(2, 1, k=3)
        with pytest.raises(AssertionError, match=r"got 3\)"):
            h.add_header(2, "v", k=3)
        with pytest.raises(AssertionError, match=r"got 2\)"):
            h.add_header(2, "v", k="3")
        with pytest.raises(AssertionError, match=r"got 'k'\)"):
            h.add_header("n", "v", **{S("k"): "3"})
        assert h.items() == []


def test_convert_string_type_method():
    h = Ours()
    assert h._convert_string_type("a\tb", name=False) == "a\tb"
    with pytest.raises(ValueError):
        h._convert_string_type("a\tb", name=True)
    with pytest.raises(ValueError):
        h._convert_string_type("a\nb", name=False)
    with pytest.raises(AssertionError, match=r"got 3\)"):
        h._convert_string_type(3, name=True)
    with pytest.raises(TypeError):
        h._convert_string_type("a")  # name is keyword-only and required
    with pytest.raises(TypeError):
        h._convert_string_type("a", True)
    value = "abc"
    assert h._convert_string_type(value, name=1) is value


def test_bytes_encode_error_matches():
    for text in ("\u0100", "ab\u0100\u0101c\u00ff\u0102", "\ud800", "\u212a"):
        errors = []
        for cls in (Ref, Ours):
            h = cls([("X", "ok"), ("Y", text)])
            with pytest.raises(UnicodeEncodeError) as info:
                bytes(h)
            e = info.value
            errors.append((e.encoding, e.object, e.start, e.end, e.reason, str(e)))
        assert errors[0] == errors[1]
        assert errors[1][0] == "latin-1"


def test_kelvin_sign():
    for cls in (Ref, Ours):
        h = cls([(KELVIN + "ey", "v")])
        assert h["key"] == "v" and h["KEY"] == "v" and "kEy" in h
        assert h[KELVIN + "EY"] == "v"
        h["k"] = "1"
        assert h.get(KELVIN) == "1"
        del h["KEY"]
        assert h.items() == [("k", "1")]


# ---------------------------------------------------------------------------------------------
# The rest of the object's behaviour.
# ---------------------------------------------------------------------------------------------


def test_iteration_falls_back_to_getitem_like_stdlib():
    for cls in (Ref, Ours):
        h = cls([("a", "b")])
        with pytest.raises(AttributeError, match="'int' object has no attribute 'lower'"):
            iter(h).__next__()
        with pytest.raises(AttributeError, match="'int' object has no attribute 'lower'"):
            list(h)
        with pytest.raises(AttributeError, match="'int' object has no attribute 'lower'"):
            next(reversed(h))
        assert list(reversed(cls())) == []
        assert not hasattr(h, "__iter__")
        with pytest.raises(AttributeError, match="'slice' object has no attribute 'lower'"):
            h[0:1]


def test_identity_equality_and_hash():
    for cls in (Ref, Ours):
        a, b = cls([("a", "b")]), cls([("a", "b")])
        same = a
        assert a != b and a == same
        assert cls.__eq__ is object.__eq__ and cls.__hash__ is object.__hash__
        assert hash(a) != hash(b) or a is not b
        assert {a: 1}[a] == 1
        assert bool(cls()) is False and bool(a) is True


def test_repr_uses_runtime_class_name():
    h = Ours()
    h._headers.extend([("a", "b'c"), ("\u00e9\u212a", 'q"\t\\\x00\ud800\x85\u2028')])
    assert repr(h) == f"Headers({h._headers!r})"
    assert repr(h) == repr(Ref()).replace("[]", repr(h._headers))

    class Custom(Ours):
        pass

    assert repr(Custom([("a", "b")])) == "Custom([('a', 'b')])"


def test_module_surface():
    assert rs_headers.__all__ == ["Headers"]
    assert rs_headers.Headers is NativeHeaders
    assert Ours.__module__ == "wsgiref_rs.headers"
    assert Ours.__name__ == Ours.__qualname__ == "Headers"
    assert rs_headers.tspecials.pattern == std_headers.tspecials.pattern
    assert rs_headers.tspecials.search("a b") and not rs_headers.tspecials.search("ab")
    assert rs_headers.__doc__
    for name in (
        "get",
        "get_all",
        "keys",
        "values",
        "items",
        "setdefault",
        "add_header",
        "_convert_string_type",
        "__init__",
    ):
        assert getattr(Ours, name).__doc__


def test_instance_attributes_weakref_copy_pickle():
    lst = [("A", "1")]
    h = Ours(lst)
    h.extra = 5
    assert weakref.ref(h)() is h
    shallow = copy.copy(h)
    assert shallow._headers is lst and shallow.extra == 5
    deep = copy.deepcopy(h)
    assert deep._headers == lst and deep._headers is not lst and deep.extra == 5
    loaded = pickle.loads(pickle.dumps(h))
    assert type(loaded) is Ours and loaded.items() == lst and loaded.extra == 5
    # Same sharing behaviour as the stdlib class.
    ref = Ref(lst)
    assert copy.copy(ref)._headers is lst


def test_debug_checks_skipped_under_optimize():
    code = (
        "import wsgiref.headers as s, wsgiref_rs.headers as r\n"
        "for cls in (s.Headers, r.Headers):\n"
        "    h = cls([(1, 2), ('a\\n', 'b')])\n"
        "    assert h.items() == [(1, 2), ('a\\n', 'b')], cls\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout == "ok\n"
    with pytest.raises(AssertionError):
        Ours([(1, 2)])


# ---------------------------------------------------------------------------------------------
# Subclasses: the stdlib reaches get, __delitem__, _convert_string_type and __str__ through
# self, and so must we.
# ---------------------------------------------------------------------------------------------


def subclasses(base):
    class WithInit(base):
        def __init__(self, headers=None, tag="t"):
            self.tag = tag
            super().__init__(headers if headers is not None else [("Init", tag)])

    class DefaultGet(base):
        def get(self, name, default=None):
            value = super().get(name, default)
            return "default" if value is None else value.upper()

    class Coercing(base):
        def _convert_string_type(self, value, **kwargs):
            if isinstance(value, (int, bytes)):
                value = str(value)
            return super()._convert_string_type(value, **kwargs)

    class Recording(base):
        def __init__(self, *args):
            self.deleted = []
            super().__init__(*args)

        def __delitem__(self, name):
            self.deleted.append(name)
            super().__delitem__(name)

    class Loud(base):
        def __str__(self):
            return super().__str__().upper()

    class Odd(base):
        def _convert_string_type(self, value, **kwargs):
            return 7 if value == "seven" else value

    return WithInit, DefaultGet, Coercing, Recording, Loud, Odd


def test_subclass_init_and_repr():
    for base in (Ref, Ours):
        WithInit = subclasses(base)[0]
        h = WithInit(tag="x")
        assert h.items() == [("Init", "x")] and h.tag == "x"
        assert repr(h) == "WithInit([('Init', 'x')])"
        lst = [("a", "b")]
        assert WithInit(lst)._headers is lst
        with pytest.raises(TypeError):
            WithInit(("a", "b"))


@pytest.mark.parametrize("index", range(6))
def test_subclass_overrides_differential(index):
    ref_cls = subclasses(Ref)[index]
    our_cls = subclasses(Ours)[index]
    script = [
        ("getitem", "a"),
        ("getitem", "missing"),
        ("contains", "missing"),
        ("setdefault", "A", "new"),
        ("setdefault", "B", "new"),
        ("setitem", "C", "3"),
        ("setitem", 5, b"x"),
        ("setitem", "seven", "seven"),
        ("get", "seven"),
        ("get", "SEVEN"),
        ("add_header", "n", "v", [("k", "seven"), ("b_c", None)]),
        ("add_header", 4, 5, [("k", 6)]),
        ("delitem", "c"),
        ("get_all", "a"),
        ("str",),
        ("bytes",),
        ("repr",),
        ("keys",),
    ]
    ref_list, our_list = [("A", "1"), ("b", "2")], [("A", "1"), ("b", "2")]
    ref, ours = ref_cls(ref_list), our_cls(our_list)
    for op in script:
        assert apply(ours, our_list, op) == apply(ref, ref_list, op), op
        assert norm(our_list) == norm(ref_list), op
    assert getattr(ours, "deleted", None) == getattr(ref, "deleted", None)


def test_class_level_patch_is_honoured(monkeypatch):
    calls = []
    original_get = Ours.get

    def patched_get(self, name, default=None):
        calls.append(name)
        return original_get(self, name, default)

    monkeypatch.setattr(Ours, "get", patched_get)
    h = Ours([("A", "1")])
    assert h["a"] == "1" and "a" in h and h.setdefault("a", "2") == "1"
    assert calls == ["a", "a", "a"]


def test_subclass_init_error_leaves_list_set():
    for base in (Ref, Ours):

        class Lenient(base):
            def __init__(self, headers):
                try:
                    super().__init__(headers)
                except AssertionError:
                    self.failed = True

        lst = [(1, 2)]
        h = Lenient(lst)
        assert h.failed and h._headers is lst
