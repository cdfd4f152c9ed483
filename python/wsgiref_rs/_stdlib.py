"""Private: the standard library's own ``wsgiref`` modules, whether or not the switch is on.

After :func:`wsgiref_rs.install`, ``import wsgiref.handlers`` gives wsgiref-rs's module, so code
that needs the *real* standard-library module (tests that compare the two, development shims)
cannot simply import it. ``module("handlers")`` returns it without going through the switch:

* a standard-library module the interpreter had loaded before ``install()`` is returned as is (the
  very object that was in ``sys.modules``);
* while the switch is off, the module is imported the ordinary way;
* while the switch is on, a private copy is loaded from the standard library's files and kept here,
  outside ``sys.modules``. Its ``import wsgiref...`` statements (absolute or relative) resolve
  through this helper too, so it never sees wsgiref-rs and nothing recurses.

Not public API: no stability promise.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

__all__ = ["module"]

_PACKAGE = "wsgiref"
_LOCK = threading.RLock()
# Standard-library modules that the import system itself loaded (identity kept).
_genuine: dict[str, ModuleType] = {}
# Copies loaded by this helper while the switch was on; they are not in sys.modules.
_private: dict[str, ModuleType] = {}


def _full_name(name: str) -> str:
    return f"{_PACKAGE}.{name}" if name else _PACKAGE


def _is_stdlib(mod: object, full: str) -> bool:
    return isinstance(mod, ModuleType) and getattr(mod, "__name__", None) == full


def _switch_is_on() -> bool:
    return any(getattr(finder, "_wsgiref_rs_alias", False) for finder in sys.meta_path)


def remember(full: str, mod: ModuleType) -> None:
    """Record a standard-library module that was in ``sys.modules`` (called by install())."""
    with _LOCK:
        if _is_stdlib(mod, full):
            _genuine[full] = mod


def genuine(full: str) -> ModuleType | None:
    """The standard-library module ``full`` as the import system had loaded it, if it did."""
    return _genuine.get(full)


def forget_private() -> None:
    """Drop the private copies (called by uninstall(), after which ordinary imports work again)."""
    with _LOCK:
        _private.clear()


def module(name: str = "") -> ModuleType:
    """Return the standard library's ``wsgiref`` package (``name=""``) or ``wsgiref.<name>``.

    Never returns a wsgiref-rs module and never triggers the switch's import hook.
    """
    full = _full_name(name)
    with _LOCK:
        found = _genuine.get(full) or _private.get(full)
        if found is not None:
            return found
        current = sys.modules.get(full)
        if current is not None and _is_stdlib(current, full):
            _genuine[full] = current
            return current
        if not _switch_is_on():
            mod = importlib.import_module(full)
            if _is_stdlib(mod, full):
                _genuine[full] = mod
                return mod
        return _load_private(full)


def _load_private(full: str) -> ModuleType:
    parent_name, _, child = full.rpartition(".")
    parent: ModuleType | None = None
    if parent_name:
        parent = module("")
        spec = importlib.machinery.PathFinder.find_spec(full, list(parent.__path__))
    else:
        spec = importlib.machinery.PathFinder.find_spec(full)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {full!r} in the standard library", name=full)
    mod = importlib.util.module_from_spec(spec)
    # The module's own import statements go through _import below (frames take their builtins
    # from the globals' __builtins__).
    mod.__dict__["__builtins__"] = _BUILTINS
    _private[full] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        _private.pop(full, None)
        raise
    if parent is not None and _private.get(parent_name) is parent:
        setattr(parent, child, mod)
    return mod


def _import(
    name: str,
    globals: dict[str, Any] | None = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> ModuleType:
    """``__import__`` for the private copies: ``wsgiref...`` names resolve through module()."""
    if level > 0:
        package = (globals or {}).get("__package__") or ""
        full = importlib.util.resolve_name("." * level + name, package)
    else:
        full = name
    if full != _PACKAGE and not full.startswith(_PACKAGE + "."):
        return builtins.__import__(name, globals, locals, fromlist, level)
    top = module("")
    target = top if full == _PACKAGE else module(full[len(_PACKAGE) + 1 :])
    if fromlist:
        if target is top:
            for item in fromlist:
                if item != "*" and not hasattr(top, item):
                    module(item)
        return target
    return top


_BUILTINS: dict[str, Any] = dict(vars(builtins))
_BUILTINS["__import__"] = _import
