"""Every public name of each standard-library wsgiref module exists in ours, with its kind.

`__all__` alone is not enough: `wsgiref.util.is_hop_by_hop` and `wsgiref.handlers.format_date_time`
are public and used, yet neither module's `__all__` lists them.
"""

import importlib
import inspect
import sys
import types

import pytest

MODULES = ["util", "headers", "handlers", "simple_server", "validate"]
if sys.version_info >= (3, 11):
    MODULES.append("types")


def public_names(module):
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def kind(value):
    if inspect.isclass(value):
        return "class"
    if callable(value):
        return "callable"
    return type(value).__name__


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_of_the_stdlib_module_is_ours_too(name):
    std = importlib.import_module(f"wsgiref.{name}")
    ours = importlib.import_module(f"wsgiref_rs.{name}")
    # Names the stdlib module merely imported for its own use are not its API.
    imported_helpers = {"posixpath", "python_implementation", "urllib", "BaseHTTPRequestHandler",
                        "HTTPServer", "Callable", "Iterable", "Iterator", "Any", "Protocol",
                        "TypeAlias", "TracebackType", "Optional"}
    missing = sorted(public_names(std) - public_names(ours) - imported_helpers)
    assert missing == []
    for attr in public_names(std) & public_names(ours) - imported_helpers:
        assert kind(getattr(ours, attr)) == kind(getattr(std, attr)), attr
    assert getattr(ours, "__all__", None) == getattr(std, "__all__", None) or name == "headers"
