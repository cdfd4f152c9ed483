"""Finding the application: ``module:app``, ``package.module:obj.attr`` or a factory call
``module:create_app()`` (its arguments, if any, as Python literals)."""

import ast
import importlib
import sys
import traceback

__all__ = ["AppImportError", "check_import_string", "load_app", "module_of"]


class AppImportError(ImportError):
    """The application could not be imported or is not a WSGI callable (the command line exits
    with status 1 on it)."""

    def __init__(self, message, details=None):
        super().__init__(message)
        # The traceback of what went wrong inside the user's code, for --log-level debug.
        self.details = details


def _parse(spec):
    """(module, attribute path, call arguments or None); ValueError when malformed."""
    module, sep, target = spec.partition(":")
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise ValueError(f"{module!r} is not a module name")
    if not sep:
        return module, ["application"], None
    try:
        expression = ast.parse(target, mode="eval").body
    except SyntaxError:
        raise ValueError(f"{target!r} is not a name or a call") from None
    call = None
    if isinstance(expression, ast.Call):
        if expression.keywords and any(k.arg is None for k in expression.keywords):
            raise ValueError("a factory call takes literal arguments only")
        try:
            call = ([ast.literal_eval(a) for a in expression.args],
                    {k.arg: ast.literal_eval(k.value) for k in expression.keywords})
        except ValueError:
            raise ValueError("a factory call takes literal arguments only") from None
        expression = expression.func
    names = []
    while isinstance(expression, ast.Attribute):
        names.append(expression.attr)
        expression = expression.value
    if not isinstance(expression, ast.Name):
        raise ValueError(f"{target!r} is not a name or a call")
    names.append(expression.id)
    return module, names[::-1], call


def check_import_string(spec):
    """Raise ValueError (with the reason) unless ``spec`` has the form of an app path."""
    try:
        _parse(spec)
    except ValueError as e:
        raise ValueError(f"app {spec!r}: {e} (expected MODULE:NAME or MODULE:FACTORY())") from None


def module_of(spec):
    """The module an import string names."""
    return spec.partition(":")[0]


def _details():
    return "".join(traceback.format_exception(*sys.exc_info()))


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def load_app(spec):
    """The WSGI application an import string names (a callable passes through); every failure
    is an :class:`AppImportError` with a one-line message."""
    if not isinstance(spec, str):
        return spec
    check_import_string(spec)
    module_name, names, call = _parse(spec)
    importlib.invalidate_caches()
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise AppImportError(f"app {spec!r}: no module named {e.name!r}") from None
        raise AppImportError(f"app {spec!r}: importing {module_name!r} failed: {_describe(e)}",
                             _details()) from None
    except Exception as e:
        raise AppImportError(f"app {spec!r}: importing {module_name!r} failed: {_describe(e)}",
                             _details()) from None
    path = module_name
    for name in names:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise AppImportError(f"app {spec!r}: {path!r} has no attribute {name!r}") from None
        path = f"{path}.{name}"
    if call is not None:
        args, kwargs = call
        try:
            obj = obj(*args, **kwargs)
        except Exception as e:
            raise AppImportError(f"app {spec!r}: the factory raised {_describe(e)}",
                                 _details()) from None
    if not callable(obj):
        raise AppImportError(f"app {spec!r} is not callable (it is {type(obj).__name__})")
    return obj
