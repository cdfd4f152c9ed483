"""The ``wsgiref-rs`` command (``python -m wsgiref_rs APP``) and ``wsgiref_rs.serve()``, as real
processes on loopback: loading the app, the sockets (TCP, IPv6, Unix, --fd, systemd), the
environ, the access log, the pid file, stopping, and one clear line for every error."""

import re
import signal
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_support import get, get_unix, own_environ, run_cli

import wsgiref_rs

CLF = re.compile(
    r'^(?P<host>\S+) - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
    r'"(?P<line>[^"]*)" (?P<status>\d{3}) (?P<size>\d+|-)$'
)


def stop_cleanly(server):
    server.signal(signal.SIGTERM)
    assert server.wait() == 0, "\n".join(server.err)
    assert not any("Traceback" in line for line in server.err), "\n".join(server.err)


# -- serving ------------------------------------------------------------------------------------


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return int(text[text.rindex(")") + 2:].split()[1])


@pytest.mark.parametrize("timeout", [None, "0"])
def test_a_module_app_is_served_with_one_startup_line_and_stops_on_sigterm(start, timeout):
    options = () if timeout is None else ("--timeout", timeout)
    server = start("testapp:app", "--bind", "127.0.0.1:0", *options)
    [url] = server.listening()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
    status, body = get(server.port, "/hello")
    assert status == 200
    if timeout == "0":
        # Nothing to watch: the process serves itself.
        assert body["pid"] == server.pid
    else:
        # The default --timeout 30 runs the supervisor, even for one worker.
        assert body["pid"] != server.pid
        assert parent_of(body["pid"]) == server.pid
    assert body["path_info"] == "/hello"
    assert body["factory"] is False
    assert body["multiprocess"] is False
    assert body["multithread"] is False
    assert body["script_name"] == ""
    assert body["server_port"] == str(server.port)
    assert body["server_software"] == f"wsgiref-rs/{wsgiref_rs.__version__}"
    assert body["url_scheme"] == "http"
    assert body["os_environ_copied"] is False
    stop_cleanly(server)


def test_a_factory_is_called_once_and_the_console_script_runs_it(start):
    script = Path(sys.executable).with_name("wsgiref-rs")
    assert script.exists(), "the [project.scripts] entry is installed beside the interpreter"
    server = start(command=[str(script), "testapp:create_app()", "--bind", "127.0.0.1:0"])
    status, body = get(server.port)
    assert status == 200
    assert body["factory"] is True
    stop_cleanly(server)


def test_the_access_log_is_one_common_log_format_line_per_request_on_stdout(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0")
    get(server.port, "/a?x=1")
    get(server.port, "/b")
    lines = [m.group(0) for m in server.wait_for(CLF.pattern, stream="out", count=2)]
    first, second = (CLF.match(line) for line in lines)
    assert first["host"] == "127.0.0.1"
    assert first["line"] == "GET /a?x=1 HTTP/1.1"
    assert first["status"] == "200"
    assert int(first["size"]) > 0
    assert second["line"] == "GET /b HTTP/1.1"
    stop_cleanly(server)
    assert len(server.out) == 2  # nothing else goes to stdout


def test_no_access_log_writes_nothing_to_stdout(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--no-access-log")
    for _ in range(3):
        assert get(server.port)[0] == 200
    stop_cleanly(server)
    assert server.out == []


def test_log_level_warning_silences_the_server_s_info_lines(start):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        server = start("testapp:app", "--fd", str(listener.fileno()), "--log-level", "WARNING",
                       pass_fds=[listener.fileno()])
    assert get(port)[0] == 200
    server.signal(signal.SIGTERM)
    assert server.wait() == 0
    assert server.err == []
    assert len(server.out) == 1  # the access log is not the error log: still there


def test_root_path_is_script_name_and_threads_make_it_multithreaded(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--root-path", "/base/",
                   "--threads", "4")
    status, body = get(server.port, "/x")
    assert status == 200
    assert body["script_name"] == "/base"
    assert body["path_info"] == "/x"
    assert body["multithread"] is True
    stop_cleanly(server)


def test_several_binds_and_ipv6(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--bind", "[::1]:0")
    v4, v6 = server.listening(count=2)
    assert re.fullmatch(r"http://\[::1\]:\d+", v6)
    assert get(int(v4.rsplit(":", 1)[1]))[0] == 200
    status, body = get(int(v6.rsplit(":", 1)[1]), host="::1")
    assert status == 200
    assert body["remote_addr"] == "::1"
    stop_cleanly(server)


def test_the_pid_file_holds_the_pid_while_serving_and_is_removed_on_exit(start, tmp_path):
    pid_file = tmp_path / "server.pid"
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--pid", str(pid_file))
    server.listening()
    assert pid_file.read_text() == f"{server.pid}\n"
    stop_cleanly(server)
    assert not pid_file.exists()


def test_sigint_stops_too(start):
    server = start("testapp:app", "--bind", "127.0.0.1:0")
    assert get(server.port)[0] == 200
    server.signal(signal.SIGINT)
    assert server.wait() == 0
    assert "Stopped" in server.err[-1]


@pytest.mark.parametrize("threads", ["0", "4"])
def test_sigterm_lets_the_request_in_flight_finish(start, threads):
    server = start("testapp:app", "--bind", "127.0.0.1:0", "--threads", threads)
    port = server.port
    result = {}
    client = threading.Thread(target=lambda: result.setdefault("r", get(port, "/sleep?1.0")))
    client.start()
    server.wait_for("sleeping")
    server.signal(signal.SIGTERM)
    client.join(15)
    assert result["r"][0] == 200
    assert server.wait() == 0


FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize("trusted, remote_addr, scheme", [
    (None, "203.0.113.7", "https"),  # the default trusts loopback (and Unix-socket peers)
    ("10.0.0.0/8", "127.0.0.1", "http"),
    ("", "127.0.0.1", "http"),  # nobody
])
def test_forwarded_headers_count_only_from_trusted_proxies(start, trusted, remote_addr, scheme):
    args = ["testapp:app", "--bind", "127.0.0.1:0"]
    if trusted is not None:
        args += ["--forwarded-allow-ips", trusted]
    server = start(*args)
    status, body = get(server.port, headers=FORWARDED)
    assert status == 200
    assert (body["remote_addr"], body["url_scheme"]) == (remote_addr, scheme)
    stop_cleanly(server)


# -- sockets ------------------------------------------------------------------------------------


def test_a_unix_socket_is_created_served_and_removed(start, tmp_path):
    path = tmp_path / "app.sock"
    # A stale socket file, as a crashed server leaves: replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()
    server = start("testapp:app", "--uds", str(path))
    assert server.listening() == [f"unix:{path}"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o666
    status, body = get_unix(str(path), "/over-unix")
    assert status == 200
    assert body["path_info"] == "/over-unix"
    assert body["remote_addr"] == ""
    assert (body["server_name"], body["server_port"]) == ("localhost", "80")
    [line] = server.wait_for(CLF.pattern, stream="out")
    assert line["host"] == "-"  # no address: a Unix-socket peer, and no proxy named one
    status, body = get_unix(str(path), headers={"X-Forwarded-For": "198.51.100.2"})
    assert body["remote_addr"] == "198.51.100.2"  # Unix-socket peers are trusted by default
    stop_cleanly(server)
    assert not path.exists()


def test_a_unix_socket_a_live_server_answers_on_is_not_taken(start, tmp_path):
    path = tmp_path / "live.sock"
    with socket.socket(socket.AF_UNIX) as live:
        live.bind(str(path))
        live.listen()
        code, out, err = run_cli(["testapp:app", "--uds", str(path)], tmp_path)
    assert code == 1
    assert err.splitlines() == [f"wsgiref-rs: error: cannot listen on unix:{path}: "
                                f"Address already in use"]
    assert path.exists()


def test_an_inherited_fd_is_served(start):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        fd = listener.fileno()
        server = start("testapp:app", "--fd", str(fd), pass_fds=[fd])
        assert server.listening() == [f"http://127.0.0.1:{port}"]
    # Our copy is closed: the server's own keeps listening.
    assert get(port)[0] == 200
    stop_cleanly(server)


def _systemd_wrapper(fd, listen_pid_offset=0):
    """A tiny launcher that does what systemd does: the socket at fd 3, LISTEN_PID its own pid
    (plus an offset, to make it wrong), then exec the server."""
    return (
        "import os, sys\n"
        f"os.dup2({fd}, 3)\n"
        f"os.environ['LISTEN_PID'] = str(os.getpid() + {listen_pid_offset})\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'wsgiref_rs', *sys.argv[1:]])\n"
    )


def test_systemd_socket_activation_serves_fd_3_and_hides_the_variables(start):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = dict(own_environ(), LISTEN_FDS="1", LISTEN_FDNAMES="web")
        server = start(command=[sys.executable, "-c", _systemd_wrapper(listener.fileno()),
                                "testapp:app"], env=env, pass_fds=[listener.fileno()])
        assert server.listening() == [f"http://127.0.0.1:{port}"]
    status, body = get(port)
    assert status == 200
    assert body["listen_fds"] is None  # unset: the app's own children do not take fd 3
    stop_cleanly(server)


def test_systemd_variables_for_another_process_are_ignored(start):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = dict(own_environ(), LISTEN_FDS="1")
        server = start(command=[sys.executable, "-c", _systemd_wrapper(listener.fileno(), 1),
                                "testapp:app", "--bind", "127.0.0.1:0"],
                       env=env, pass_fds=[listener.fileno()])
        [url] = server.listening()
        assert url != f"http://127.0.0.1:{listener.getsockname()[1]}"
        assert get(server.port)[1]["listen_fds"] == "1"
    stop_cleanly(server)


def test_a_busy_port_is_one_line_and_status_1(app_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli(["testapp:app", "--bind", f"127.0.0.1:{port}"], app_dir)
    assert code == 1
    assert err.splitlines() == [
        f"wsgiref-rs: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["testapp:app", "--workers", "0"], "--workers must be at least 1: 0"),
    (["testapp:app", "--workers", "two"], "argument -w/--workers: invalid int value: 'two'"),
    (["testapp:app", "--bind", "::1:8000"], "bind address '::1:8000': write an IPv6 address "
                                            "in brackets, as [::1]:8000"),
    (["testapp:app", "--bind", "127.0.0.1:http"], "bind address '127.0.0.1:http': port must be "
                                                  "a number from 0 to 65535"),
    (["testapp:app", "--bind", ":8000"], "bind address ':8000' has no host (0.0.0.0:PORT or "
                                         "[::]:PORT listens everywhere)"),
    (["testapp:app", "--keepalive-timeout", "0"], "--keepalive-timeout must be a positive "
                                                  "number of seconds: 0.0"),
    (["testapp:app", "--forwarded-allow-ips", "10.0.0.0/33"],
     "--forwarded-allow-ips: '10.0.0.0/33' is not an IP address, a network (10.0.0.0/8), "
     "'*' or 'unix'"),
    (["testapp:app", "--root-path", "base"], "--root-path must start with '/': 'base'"),
    (["testapp:app", "--log-level", "loud"], "argument --log-level: invalid choice: 'loud' "
                                             "(choose from 'debug', 'info', 'warning', 'error', "
                                             "'critical')"),
    (["testapp:app", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["testapp:app", "--timeout", "-1"], "--timeout must be a number of seconds, 0 or more: "
                                         "-1.0"),
    (["testapp:app", "--timeout", "nan"], "--timeout must be a number of seconds, 0 or more: "
                                          "nan"),
    (["testapp:app", "-t", "soon"], "argument -t/--timeout: invalid float value: 'soon'"),
    (["testapp:app", "--max-requests", "-5"], "--max-requests must be at least 0: -5"),
    (["testapp:app", "--max-requests", "1e3"], "argument --max-requests: invalid int value: "
                                               "'1e3'"),
    (["testapp:app", "--max-requests-jitter", "-1", "--max-requests", "10"],
     "--max-requests-jitter must be at least 0: -1"),
    (["testapp:app", "--max-requests-jitter", "50"], "--max-requests-jitter needs "
                                                     "max_requests: the jitter is added to it"),
    (["testapp:app", "--max-rss", "-1"], "--max-rss must be at least 0: -1"),
    (["testapp:app", "--max-rss", "1.5G"], "argument --max-rss: invalid int value: '1.5G'"),
    (["testapp:app", "--preload", "--reload"], "--preload does not go with reload, which "
                                               "imports the application in each worker so "
                                               "that a change is seen"),
    (["testapp:app", "--preload=yes"], "argument --preload: ignored explicit argument 'yes'"),
    (["testapp:"], "app 'testapp:': '' is not a name or a call (expected MODULE:NAME or "
                   "MODULE:FACTORY())"),
    (["test-app:app"], "app 'test-app:app': 'test-app' is not a module name (expected "
                       "MODULE:NAME or MODULE:FACTORY())"),
    (["testapp:create_app(os.environ)"], "app 'testapp:create_app(os.environ)': a factory call "
                                         "takes literal arguments only (expected MODULE:NAME "
                                         "or MODULE:FACTORY())"),
])
def test_argument_errors_are_one_line_and_status_2(app_dir, args, message):
    code, out, err = run_cli(args, app_dir)
    assert (code, out, err) == (2, "", f"wsgiref-rs: error: {message}\n")


@pytest.mark.parametrize("app, message", [
    ("missing:app", "app 'missing:app': no module named 'missing'"),
    ("testapp:nothing", "app 'testapp:nothing': 'testapp' has no attribute 'nothing'"),
    ("testapp:not_callable", "app 'testapp:not_callable' is not callable (it is int)"),
    ("testapp", "app 'testapp': 'testapp' has no attribute 'application'"),
    ("broken:app", "app 'broken:app': importing 'broken' failed: ZeroDivisionError: "
                   "division by zero"),
    ("needs:app", "app 'needs:app': importing 'needs' failed: ModuleNotFoundError: "
                  "No module named 'not_installed_anywhere'"),
    ("testapp:create_app(1)", "app 'testapp:create_app(1)': the factory raised TypeError: "
                              "create_app() takes 0 positional arguments but 1 was given"),
])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_app_that_cannot_load_is_one_line_and_status_1(app_dir, app, message, workers):
    (app_dir / "broken.py").write_text("1 / 0\n")
    (app_dir / "needs.py").write_text("import not_installed_anywhere\n")
    code, out, err = run_cli([app, "--bind", "127.0.0.1:0", "--workers", workers,
                              "--log-level", "warning"], app_dir)
    assert (code, out, err) == (1, "", f"wsgiref-rs: error: {message}\n")


def test_an_app_error_at_info_level_has_the_startup_lines_and_no_traceback(app_dir):
    (app_dir / "broken.py").write_text("1 / 0\n")
    code, out, err = run_cli(["broken:app", "--bind", "127.0.0.1:0", "--workers", "2"], app_dir)
    assert code == 1
    assert "Traceback" not in err
    assert err.splitlines()[-1] == ("wsgiref-rs: error: app 'broken:app': importing 'broken' "
                                    "failed: ZeroDivisionError: division by zero")
    assert sum("error" in line for line in err.splitlines()) == 1


def test_the_console_script_without_an_app_is_an_argument_error(app_dir):
    script = Path(sys.executable).with_name("wsgiref-rs")
    proc = subprocess.run([str(script)], cwd=app_dir, capture_output=True, text=True, timeout=15)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        2, "", "wsgiref-rs: error: the following arguments are required: APP\n")


def test_version(app_dir):
    assert run_cli(["--version"], app_dir) == (0, f"wsgiref-rs {wsgiref_rs.__version__}\n", "")


def test_help_names_every_option(app_dir):
    code, out, err = run_cli(["--help"], app_dir)
    assert code == 0
    for option in ["--bind", "--uds", "--fd", "--workers", "--threads", "--backlog",
                   "--keepalive-timeout", "--header-timeout", "--limit-request-line",
                   "--limit-request-fields", "--limit-request-body", "--access-log",
                   "--no-access-log", "--log-level", "--forwarded-allow-ips", "--root-path",
                   "--pid", "--reload", "--version", "--graceful-timeout", "--timeout",
                   "--max-requests", "--max-requests-jitter", "--max-rss", "--preload"]:
        assert option in out, option
    # Every option of serve() is on the command line (test_settings checks their defaults).
    import inspect

    from wsgiref_rs.server import serve

    for name in inspect.signature(serve).parameters:
        if name != "app":
            assert f"--{name.replace('_', '-')}" in out, name


# -- the Python API -----------------------------------------------------------------------------


SERVE_SCRIPT = """\
import sys
import wsgiref_rs
from testapp import app

wsgiref_rs.serve(app, bind="127.0.0.1:0", root_path="/py", access_log=False)
print("serve() returned", flush=True)
"""


def test_serve_from_python_blocks_until_sigterm_then_returns(start):
    assert "serve" in wsgiref_rs.__all__
    server = start(command=[sys.executable, "-c", SERVE_SCRIPT])
    status, body = get(server.port)
    assert status == 200
    assert body["script_name"] == "/py"
    stop_cleanly(server)
    assert server.out == ["serve() returned"]


def test_serve_refuses_bad_settings_with_value_errors():
    from wsgiref_rs.server import AppImportError, ConfigError

    with pytest.raises(ConfigError, match="workers must be at least 1"):
        wsgiref_rs.serve(lambda e, s: [], workers=0)
    with pytest.raises(ValueError, match="reload needs the app as an import string"):
        wsgiref_rs.serve(lambda e, s: [], reload=True)
    with pytest.raises(ValueError, match="preload needs the app as an import string"):
        wsgiref_rs.serve(lambda e, s: [], preload=True)
    with pytest.raises(ConfigError, match="timeout must be a number of seconds, 0 or more"):
        wsgiref_rs.serve("testapp:app", timeout=-1)
    with pytest.raises(ConfigError, match="max_requests must be an integer: 1.5"):
        wsgiref_rs.serve("testapp:app", max_requests=1.5)
    with pytest.raises(ConfigError, match="max_rss must be at least 0"):
        wsgiref_rs.serve("testapp:app", max_rss=-1)

    # The supervisor needs the main thread: off it, one line says what to do instead.
    failed = []
    thread = threading.Thread(target=lambda: failed.append(
        pytest.raises(ConfigError, wsgiref_rs.serve, lambda e, s: [], bind="127.0.0.1:0")))
    thread.start()
    thread.join(10)
    assert "needs the main thread" in str(failed[0].value)
    assert "timeout=0" in str(failed[0].value)
    assert issubclass(AppImportError, ImportError)


def test_the_demo_still_runs_without_an_app():
    # `python -m wsgiref_rs` with only --host/--port is the README's demo command.
    proc = subprocess.Popen([sys.executable, "-m", "wsgiref_rs", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("Serving the demo app on http://127.0.0.1:"), line
    finally:
        proc.kill()
        proc.wait(timeout=15)
        proc.stdout.close()
        proc.stderr.close()
