"""wsgiref-rs: the standard library's wsgiref, in Rust, with a native HTTP/1.1 engine.

Use the modules directly (``from wsgiref_rs.util import request_uri``), or turn the switch on so
that code written for the standard library gets wsgiref-rs without changing its imports::

    import wsgiref_rs
    wsgiref_rs.install()

    import wsgiref.util                  # wsgiref_rs.util
    from wsgiref.simple_server import make_server   # wsgiref_rs.simple_server.make_server
    assert wsgiref_rs.installed()

After :func:`install`, for the rest of the process (or until :func:`uninstall`), ``wsgiref`` is
the ``wsgiref_rs`` package itself (so ``wsgiref.__name__ == "wsgiref_rs"``) and ``wsgiref.util``,
``wsgiref.headers``, ``wsgiref.handlers``, ``wsgiref.simple_server``, ``wsgiref.validate`` and
``wsgiref.types`` are wsgiref-rs's modules (the same objects as ``wsgiref_rs.util`` and so on,
keeping their own names), whether they were imported before the switch or are imported after it.
To check it: :func:`installed`, or ``wsgiref.util.FileWrapper is wsgiref_rs.util.FileWrapper``.

Names that other modules copied out of the standard library's modules before the switch
(``from wsgiref.util import FileWrapper``) keep pointing at the standard library: call
:func:`install` first thing. Code that needs the real standard-library modules while the switch
is on (tests that compare the two) gets them from the private ``wsgiref_rs._stdlib.module()``.

For production, :func:`serve` (``wsgiref_rs.serve(app, bind="0.0.0.0:8000", workers=4)``) and
the ``wsgiref-rs`` command run an application with worker processes, graceful restarts, Unix
sockets and an access log (see ``wsgiref_rs.server``).
"""

import importlib as _importlib
import importlib.machinery as _machinery
import importlib.util as _importlib_util
import sys as _sys
import threading as _threading

from wsgiref_rs import _stdlib
from wsgiref_rs._native import __version__

__all__ = ["__version__", "install", "installed", "serve", "uninstall"]

# The standard library's wsgiref submodules, all of which the switch redirects.
_SUBMODULES = ("util", "headers", "handlers", "simple_server", "validate", "types")
_STD = "wsgiref"
_LOCK = _threading.RLock()


def _ours(sub):
    """wsgiref-rs's module for ``wsgiref.<sub>`` (``sub=""``: the package), if loaded."""
    return _sys.modules.get(f"{__name__}.{sub}" if sub else __name__)


def _std_names():
    yield "", _STD
    for sub in _SUBMODULES:
        yield sub, f"{_STD}.{sub}"


class _AliasLoader:
    """Loads ``wsgiref[.<sub>]`` as the already-importable wsgiref-rs module of the same role."""

    def __init__(self, target, sub):
        self._target = target
        self._sub = sub
        self._own_spec = None

    def create_module(self, spec):
        module = _importlib.import_module(self._target)
        self._own_spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module):
        # The import system stamped the alias's spec on the module: give it its own back, so
        # that reload(), pickling by name and introspection still see wsgiref_rs's module.
        try:
            module.__spec__ = self._own_spec
        except AttributeError:
            pass
        if self._sub in _SUBMODULES:
            std_package = _stdlib.genuine(_STD)
            if std_package is not None:
                setattr(std_package, self._sub, module)


class _AliasFinder:
    """Meta-path finder that answers ``wsgiref`` and ``wsgiref.*`` with wsgiref-rs's modules."""

    _wsgiref_rs_alias = True  # how wsgiref_rs._stdlib recognises the switch

    def find_spec(self, fullname, path=None, target=None):
        if fullname == _STD:
            sub = ""
        elif fullname.startswith(_STD + "."):
            sub = fullname[len(_STD) + 1 :]
            if sub not in _SUBMODULES and not _has_own(sub):
                # No such module: the import fails as it does for the standard library.
                return None
        else:
            return None
        target_name = f"{__name__}.{sub}" if sub else __name__
        return _machinery.ModuleSpec(fullname, _AliasLoader(target_name, sub))

    def invalidate_caches(self):
        pass


def _has_own(sub):
    """Whether ``wsgiref_rs.<sub>`` exists (so ``wsgiref.<sub>`` is never loaded twice)."""
    name = f"{__name__}.{sub}"
    if name in _sys.modules:
        return True
    try:
        return _importlib_util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


_FINDER = _AliasFinder()


def install():
    """Make ``wsgiref`` and its submodules resolve to wsgiref-rs for the rest of the process.

    Entries already in ``sys.modules`` are replaced (and the standard library's ``wsgiref``
    package object, if it was imported, gets wsgiref-rs's submodules as attributes); a meta-path
    finder makes later imports resolve too. Idempotent and thread-safe; undo with
    :func:`uninstall`.
    """
    with _LOCK:
        # Remember the standard library's modules before anything replaces them.
        for _sub, name in _std_names():
            current = _sys.modules.get(name)
            if current is not None:
                _stdlib.remember(name, current)

        if _FINDER not in _sys.meta_path:
            _sys.meta_path.insert(0, _FINDER)

        package = _sys.modules[__name__]
        _sys.modules[_STD] = package
        std_package = _stdlib.genuine(_STD)
        for sub, name in _std_names():
            if not sub:
                continue
            current = _sys.modules.get(name)
            if current is None:
                continue  # imported later through the finder
            ours = _importlib.import_module(f"{__name__}.{sub}")
            if current is not ours:
                _sys.modules[name] = ours
            if std_package is not None:
                setattr(std_package, sub, ours)


def installed():
    """Return True when the switch is on: ``import wsgiref...`` gives wsgiref-rs's modules."""
    if _FINDER not in _sys.meta_path:
        return False
    for sub, name in _std_names():
        current = _sys.modules.get(name)
        if current is not None and current is not _ours(sub):
            return False
    return True


def uninstall():
    """Turn the switch off: ``wsgiref`` is the standard library's again.

    The standard library's modules that were loaded before :func:`install` go back into
    ``sys.modules`` (the same objects); the others are loaded afresh when next imported. Objects
    that were taken from wsgiref-rs while the switch was on stay what they are.
    """
    with _LOCK:
        while _FINDER in _sys.meta_path:
            _sys.meta_path.remove(_FINDER)
        for name in [n for n in _sys.modules if n == _STD or n.startswith(_STD + ".")]:
            module = _sys.modules.get(name)
            if not _is_ours(module):
                continue
            genuine = _stdlib.genuine(name)
            if genuine is not None:
                _sys.modules[name] = genuine
            else:
                del _sys.modules[name]
        std_package = _stdlib.genuine(_STD)
        if std_package is not None:
            for sub in _SUBMODULES:
                if _is_ours(getattr(std_package, sub, None)):
                    genuine = _stdlib.genuine(f"{_STD}.{sub}")
                    if genuine is not None:
                        setattr(std_package, sub, genuine)
                    else:
                        delattr(std_package, sub)
        _stdlib.forget_private()


def __getattr__(name):
    # serve() is imported on first use: `import wsgiref_rs` stays as light as the stdlib's.
    if name == "serve":
        from wsgiref_rs.server import serve

        return serve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"serve"})


def _is_ours(module):
    name = getattr(module, "__name__", None)
    return isinstance(name, str) and (name == __name__ or name.startswith(__name__ + "."))
