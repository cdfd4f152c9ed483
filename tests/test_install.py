"""The switch: wsgiref_rs.install() / installed() / uninstall().

Every scenario runs in its own interpreter, so the switch never leaks into other tests.
"""

import subprocess
import sys
import textwrap


def run(script, timeout=120):
    """Run ``script`` in a fresh interpreter; it must exit 0. Returns its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_public_api():
    run(
        """
        import wsgiref_rs
        assert {"install", "installed", "uninstall", "__version__"} <= set(wsgiref_rs.__all__)
        assert wsgiref_rs.installed() is False
        for name in ("install", "installed", "uninstall"):
            assert getattr(wsgiref_rs, name).__doc__
        """
    )


def test_install_redirects_every_submodule_imported_afterwards():
    out = run(
        """
        import importlib, sys
        import wsgiref_rs
        assert "wsgiref" not in sys.modules and "http.server" not in sys.modules
        wsgiref_rs.install()
        assert wsgiref_rs.installed() is True
        # Lazy: nothing heavy is imported until asked for.
        assert "http.server" not in sys.modules

        import wsgiref
        assert wsgiref is wsgiref_rs
        import wsgiref.util
        ours_util = importlib.import_module("wsgiref_rs.util")
        assert wsgiref.util is sys.modules["wsgiref.util"] is ours_util
        from wsgiref.util import FileWrapper
        assert FileWrapper is wsgiref_rs.util.FileWrapper
        from wsgiref import headers
        assert headers is importlib.import_module("wsgiref_rs.headers")
        from wsgiref.handlers import SimpleHandler
        assert SimpleHandler is importlib.import_module("wsgiref_rs.handlers").SimpleHandler
        from wsgiref.simple_server import make_server, WSGIServer
        import wsgiref_rs.simple_server
        assert make_server is wsgiref_rs.simple_server.make_server
        assert WSGIServer.__module__ == "wsgiref_rs.simple_server"
        import wsgiref.validate, wsgiref.types
        assert wsgiref.validate.validator.__module__ == "wsgiref_rs.validate"
        assert wsgiref.types.StartResponse.__module__ == "wsgiref_rs.types"
        from wsgiref.simple_server import *
        assert demo_app is wsgiref_rs.simple_server.demo_app

        for sub in ("util", "headers", "handlers", "simple_server", "validate", "types"):
            ours = importlib.import_module("wsgiref_rs." + sub)
            assert importlib.import_module("wsgiref." + sub) is ours
            assert sys.modules["wsgiref." + sub] is ours
            assert getattr(wsgiref, sub) is ours
            # The modules keep their own identity: name, spec, file.
            assert ours.__name__ == "wsgiref_rs." + sub
            assert ours.__spec__.name == "wsgiref_rs." + sub
        assert wsgiref_rs.installed() is True
        print("ok")
        """
    )
    assert out == "ok\n"


def test_install_replaces_modules_imported_before():
    run(
        """
        import importlib, sys
        import wsgiref, wsgiref.util, wsgiref.headers, wsgiref.handlers
        from wsgiref.util import FileWrapper as early_file_wrapper
        std_package, std_util = wsgiref, wsgiref.util
        import wsgiref_rs
        wsgiref_rs.install()
        assert wsgiref_rs.installed()
        import wsgiref as after
        assert after is wsgiref_rs
        for sub in ("util", "headers", "handlers"):
            ours = importlib.import_module("wsgiref_rs." + sub)
            assert sys.modules["wsgiref." + sub] is ours
            # Code that kept the standard library's package object sees ours too.
            assert getattr(std_package, sub) is ours
        # The standard library's package learns about submodules imported later, too.
        import wsgiref.validate
        assert std_package.validate is wsgiref_rs.validate
        import wsgiref.util
        assert wsgiref.util is wsgiref_rs.util
        # Names copied out before the switch stay what they were (documented).
        assert early_file_wrapper is std_util.FileWrapper
        assert std_util.__name__ == "wsgiref.util"
        """
    )


def test_install_is_idempotent_and_thread_safe():
    run(
        """
        import sys, threading
        import wsgiref_rs
        wsgiref_rs.install()
        wsgiref_rs.install()
        finders = [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]
        assert len(finders) == 1, sys.meta_path
        assert sys.meta_path[0] is finders[0]
        results, errors = [], []
        def worker():
            try:
                wsgiref_rs.install()
                import wsgiref.simple_server, wsgiref.validate
                results.append((wsgiref.simple_server, wsgiref.validate))
            except BaseException as exc:
                errors.append(exc)
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert not errors, errors
        import wsgiref_rs.simple_server, wsgiref_rs.validate
        assert set(results) == {(wsgiref_rs.simple_server, wsgiref_rs.validate)}
        assert len([f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]) == 1
        """
    )


def test_unknown_submodule_fails_like_the_stdlib():
    run(
        """
        import importlib.util
        import wsgiref_rs
        wsgiref_rs.install()
        try:
            import wsgiref.nonexistent
        except ModuleNotFoundError as exc:
            assert exc.name == "wsgiref.nonexistent", exc.name
            assert str(exc) == "No module named 'wsgiref.nonexistent'", str(exc)
        else:
            raise AssertionError("imported a module that does not exist")
        assert importlib.util.find_spec("wsgiref.nonexistent") is None
        try:
            import wsgiref.util.deeper
        except ModuleNotFoundError as exc:
            assert "is not a package" in str(exc), str(exc)
        # wsgiref_rs's private modules are never loaded a second time under another name.
        import wsgiref._native
        assert wsgiref._native is wsgiref_rs._native
        """
    )


def test_reload_keeps_the_switch():
    run(
        """
        import importlib, sys
        import wsgiref_rs
        wsgiref_rs.install()
        import wsgiref.validate
        module = wsgiref.validate
        assert importlib.reload(module) is module
        assert sys.modules["wsgiref.validate"] is module is sys.modules["wsgiref_rs.validate"]
        assert module.__spec__.name == "wsgiref_rs.validate"
        """
    )


def test_uninstall_restores_the_standard_library():
    run(
        """
        import importlib, os, sys
        import wsgiref, wsgiref.util
        std_package, std_util = wsgiref, wsgiref.util
        import wsgiref_rs
        wsgiref_rs.install()
        import wsgiref.simple_server, wsgiref.headers
        assert wsgiref_rs.installed()
        wsgiref_rs.uninstall()
        assert not wsgiref_rs.installed()
        assert not [f for f in sys.meta_path if type(f).__name__ == "_AliasFinder"]
        # What was loaded before comes back as the very same objects...
        assert sys.modules["wsgiref"] is std_package
        assert sys.modules["wsgiref.util"] is std_util
        assert std_package.util is std_util
        # ...what was aliased later is gone and loads from the standard library again.
        assert "wsgiref.simple_server" not in sys.modules
        assert not hasattr(std_package, "simple_server")
        import wsgiref.simple_server as ss
        assert ss.__name__ == "wsgiref.simple_server"
        assert os.path.dirname(ss.__file__) == os.path.dirname(std_util.__file__)
        assert ss is not wsgiref_rs.simple_server
        # wsgiref_rs itself is untouched and the switch can be turned on again.
        assert wsgiref_rs.simple_server.__name__ == "wsgiref_rs.simple_server"
        wsgiref_rs.install()
        import wsgiref.simple_server
        assert wsgiref.simple_server is wsgiref_rs.simple_server
        assert sys.modules["wsgiref"] is wsgiref_rs
        wsgiref_rs.uninstall()
        wsgiref_rs.uninstall()  # idempotent too
        assert sys.modules["wsgiref"] is std_package
        """
    )


def test_uninstall_without_prior_stdlib_import():
    run(
        """
        import sys
        import wsgiref_rs
        wsgiref_rs.install()
        import wsgiref.util
        wsgiref_rs.uninstall()
        assert "wsgiref" not in sys.modules and "wsgiref.util" not in sys.modules
        import wsgiref.util
        assert wsgiref.util.__name__ == "wsgiref.util"
        assert wsgiref.__name__ == "wsgiref"
        """
    )


def test_installed_notices_a_foreign_module():
    run(
        """
        import sys, types
        import wsgiref_rs
        wsgiref_rs.install()
        import wsgiref.util
        assert wsgiref_rs.installed()
        sys.modules["wsgiref.util"] = types.ModuleType("wsgiref.util")
        assert not wsgiref_rs.installed()
        wsgiref_rs.install()
        assert wsgiref_rs.installed() and sys.modules["wsgiref.util"] is wsgiref_rs.util
        """
    )


def test_stdlib_helper_gives_the_real_modules_after_install():
    run(
        """
        import os, sys, sysconfig
        import wsgiref_rs
        from wsgiref_rs import _stdlib
        wsgiref_rs.install()
        import wsgiref.handlers, wsgiref.simple_server
        stdlib_dir = os.path.join(sysconfig.get_path("stdlib"), "wsgiref")
        subs = ["util", "headers", "handlers", "simple_server", "validate"]
        if sys.version_info >= (3, 11):
            subs.append("types")  # new in 3.11
        else:
            try:
                _stdlib.module("types")
            except ModuleNotFoundError as e:
                assert e.name == "wsgiref.types"
            else:
                raise AssertionError("a wsgiref.types in the standard library before 3.11")
        for sub in subs:
            real = _stdlib.module(sub)
            assert real.__name__ == "wsgiref." + sub
            assert os.path.dirname(real.__file__) == stdlib_dir, real.__file__
            assert real is not getattr(wsgiref_rs, sub, None)
            assert _stdlib.module(sub) is real  # loaded once
        # The private copies import one another, never wsgiref-rs.
        real_handlers = _stdlib.module("handlers")
        assert _stdlib.module("simple_server").SimpleHandler is real_handlers.SimpleHandler
        assert _stdlib.module("handlers").Headers is _stdlib.module("headers").Headers
        assert _stdlib.module("simple_server").WSGIServer is not wsgiref_rs.simple_server.WSGIServer
        # ...and the switch is undisturbed.
        assert wsgiref_rs.installed()
        assert sys.modules["wsgiref.handlers"] is wsgiref_rs.handlers
        assert sys.modules["wsgiref"] is wsgiref_rs
        assert _stdlib.module("") is not wsgiref_rs
        # The real validator works.
        from wsgiref.util import setup_testing_defaults
        environ = {}
        setup_testing_defaults(environ)
        environ["QUERY_STRING"] = ""
        def app(e, s):
            s("200 OK", [("Content-Type", "text/plain")])
            return [b"x"]
        it = _stdlib.module("validate").validator(app)(environ, lambda *a: None)
        assert list(it) == [b"x"]
        it.close()
        """
    )


def test_stdlib_helper_reuses_modules_loaded_before_install():
    run(
        """
        import wsgiref.util, wsgiref.validate
        import wsgiref_rs
        from wsgiref_rs import _stdlib
        std_util, std_validate = wsgiref.util, wsgiref.validate
        assert _stdlib.module("util") is std_util  # switch off: the ordinary module
        wsgiref_rs.install()
        assert _stdlib.module("util") is std_util
        assert _stdlib.module("validate") is std_validate
        assert _stdlib.module("") is not wsgiref_rs
        """
    )


def test_conformance_suite_style_usage():
    # What CPython's test_wsgiref does at import time, after the switch.
    run(
        """
        import wsgiref_rs
        wsgiref_rs.install()
        from wsgiref.util import setup_testing_defaults
        from wsgiref.headers import Headers
        from wsgiref.handlers import BaseHandler, BaseCGIHandler, SimpleHandler
        from wsgiref import util
        from wsgiref.validate import validator
        from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server
        assert util is wsgiref_rs.util
        assert validator is wsgiref_rs.validate.validator
        assert WSGIRequestHandler is wsgiref_rs.simple_server.WSGIRequestHandler
        assert Headers is wsgiref_rs.headers.Headers
        """
    )
