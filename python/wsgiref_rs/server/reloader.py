"""``--reload`` (development only): notice when a ``.py`` file under the application's directory
changes, by polling modification times.

The directory is the one the app's top-level module or package is found in (usually the project
directory), found without importing anything, so that the supervisor never holds the app's code;
when that is an installation directory (``site-packages``), only the package's own files are
watched. Hidden directories, ``__pycache__`` and virtual environments are skipped.
"""

import importlib.machinery
import os
import sys

__all__ = ["SourceWatcher", "watched_root"]

_SKIPPED = frozenset({"__pycache__", "node_modules", "site-packages", "dist-packages"})


def watched_root(module_name):
    """The directory to watch for the module ``module_name`` names (the working directory when
    the module cannot be found without importing)."""
    top = module_name.partition(".")[0]
    try:
        spec = importlib.machinery.PathFinder.find_spec(top, sys.path)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not os.path.isabs(spec.origin):
        return os.getcwd()
    if spec.submodule_search_locations:
        package_dir = list(spec.submodule_search_locations)[0]
        root = os.path.dirname(package_dir)
    else:
        package_dir = None
        root = os.path.dirname(spec.origin)
    if os.path.basename(root) in _SKIPPED:
        return package_dir or spec.origin
    return root


def _skip(dirpath, name):
    return (name.startswith(".") or name in _SKIPPED
            or os.path.exists(os.path.join(dirpath, name, "pyvenv.cfg")))


class SourceWatcher:
    """Polls ``root`` (a directory or one file) for created, changed or deleted ``.py`` files."""

    def __init__(self, root):
        self.root = root
        self._snapshot = self._scan()

    def _scan(self):
        found = {}
        if os.path.isfile(self.root):
            paths = [self.root]
        else:
            paths = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = [d for d in dirnames if not _skip(dirpath, d)]
                paths.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".py"))
        for path in paths:
            try:
                found[path] = os.stat(path).st_mtime_ns
            except OSError:
                pass  # gone between the listing and the stat
        return found

    def changed(self):
        """The path of a file that changed since the last call, or None."""
        snapshot = self._scan()
        previous, self._snapshot = self._snapshot, snapshot
        for path, mtime in snapshot.items():
            if previous.get(path) != mtime:
                return path
        for path in previous:
            if path not in snapshot:
                return path
        return None
