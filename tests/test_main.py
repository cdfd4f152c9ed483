"""``python -m wsgiref_rs``, the README's demo command: it serves the demo app until stopped."""

import re
import signal
import subprocess
import sys
import urllib.request

import pytest


@pytest.fixture
def demo():
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsgiref_rs", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.match(
            r"Serving the demo app on (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)", line
        )
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield proc, match.group(1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_serves_the_demo_app_for_many_requests_then_stops_on_ctrl_c(demo):
    proc, url = demo
    for path in ["", "xyz?abc", "again"]:
        with urllib.request.urlopen(url + path, timeout=10) as response:
            body = response.read().decode()
        assert response.status == 200
        assert body.startswith("Hello world!\n\n")
        assert f"PATH_INFO = '/{path.partition('?')[0]}'" in body
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Stopped." in out


def test_a_busy_port_is_one_clear_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "wsgiref_rs", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"python -m wsgiref_rs: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.parametrize("args, message", [
    (["--workers", "2"], "the following arguments are required: APP"),
    (["--host", "127.0.0.1", "--threads", "4"], "the following arguments are required: APP"),
    (["app:app", "--port", "8001"],
     "--host and --port place the demo app: serve an APP on --bind HOST:PORT"),
])
def test_the_demo_and_an_app_each_take_their_own_options(args, message, capsys):
    from wsgiref_rs.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    assert capsys.readouterr() == ("", f"wsgiref-rs: error: {message}\n")


def test_without_an_app_the_demo_gets_host_and_port(monkeypatch):
    import wsgiref_rs.__main__ as main_module

    calls = []
    monkeypatch.setattr(main_module, "demo", lambda host, port: calls.append((host, port)) or 7)
    assert main_module.main([]) == 7
    assert main_module.main(["--host", "0.0.0.0", "--port=0"]) == 7
    assert calls == [("127.0.0.1", 8000), ("0.0.0.0", 0)]
