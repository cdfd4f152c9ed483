"""wsgiref_rs.types against the running interpreter's wsgiref.types (new in Python 3.11; on 3.9
and 3.10 there is nothing to compare with, and tests/conftest.py leaves this file out there):
the names, protocols and aliases must match the standard library's (same methods, parameters and
resolved annotations).
"""

import inspect
import typing
import wsgiref.types as std
from collections.abc import Callable, Iterable

import pytest
from test_types import PROTOCOLS, STDLIB_ALL, protocol_methods

import wsgiref_rs.types as ours


def shape(hint):
    """A comparable form of a resolved annotation: Union and X | Y compare equal, and
    wsgiref_rs.types' own classes stand for the stdlib's."""
    if isinstance(hint, type) and getattr(hint, "__module__", None) == ours.__name__:
        return getattr(std, hint.__name__)
    args = typing.get_args(hint)
    if not args:
        return hint
    origin = typing.get_origin(hint)
    if origin is typing.Union or type(hint).__name__ == "UnionType":
        origin = typing.Union
    return (origin, tuple([shape(x) for x in a] if isinstance(a, list) else shape(a) for a in args))


def test_all_matches_the_stdlib():
    assert ours.__all__ == std.__all__ == STDLIB_ALL
    for name in ours.__all__:
        assert hasattr(ours, name), name


@pytest.mark.parametrize("name", PROTOCOLS)
def test_protocols_match_the_stdlib(name):
    our_cls, std_cls = getattr(ours, name), getattr(std, name)
    assert typing.Protocol in our_cls.__mro__
    assert getattr(our_cls, "_is_protocol", False)
    assert not getattr(our_cls, "_is_runtime_protocol", False)  # as the stdlib: static only
    assert protocol_methods(our_cls) == protocol_methods(std_cls)
    for method in protocol_methods(std_cls):
        our_m, std_m = getattr(our_cls, method), getattr(std_cls, method)
        our_sig, std_sig = inspect.signature(our_m), inspect.signature(std_m)
        assert [(p.name, p.kind, p.default) for p in our_sig.parameters.values()] == [
            (p.name, p.kind, p.default) for p in std_sig.parameters.values()
        ], method
        our_hints = typing.get_type_hints(our_m)
        std_hints = typing.get_type_hints(std_m)
        assert our_hints.keys() == std_hints.keys()
        for key in std_hints:
            assert shape(our_hints[key]) == shape(std_hints[key]), (method, key)


def test_protocols_are_not_runtime_checkable_like_the_stdlib():
    for name in PROTOCOLS:
        with pytest.raises(TypeError) as ours_exc:
            isinstance(object(), getattr(ours, name))
        with pytest.raises(TypeError) as std_exc:
            isinstance(object(), getattr(std, name))
        assert str(ours_exc.value) == str(std_exc.value)


def test_aliases_match_the_stdlib():
    assert ours.WSGIEnvironment == std.WSGIEnvironment == dict[str, typing.Any]
    assert ours._ExcInfo == std._ExcInfo
    assert ours._OptExcInfo == std._OptExcInfo
    assert (
        typing.get_origin(ours.WSGIApplication)
        is Callable
        is typing.get_origin(std.WSGIApplication)
    )
    (our_params, our_ret), (std_params, std_ret) = (
        typing.get_args(ours.WSGIApplication),
        typing.get_args(std.WSGIApplication),
    )
    assert our_params == [dict[str, typing.Any], ours.StartResponse]
    assert std_params == [dict[str, typing.Any], std.StartResponse]
    assert our_ret == std_ret == Iterable[bytes]
