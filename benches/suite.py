"""The benchmark suite: every scenario of ../shared/BENCHMARKING.md for every server, side by side.

    python3 benches/suite.py [--quick] [--servers a,b] [--scenarios x,y] [--rounds N]
                             [--seconds N] [--no-setup] [--out-dir DIR]

Set-up first (skipped with --no-setup): Debian's wrk, nginx-light and libev-dev through apt-get
when missing, then benches/.venv with the peers and wsgiref-rs built from this checkout in
release mode; the suite then runs itself again under that environment's Python. Each scenario
runs every server in turn (server on CPU 0, `wrk -t1` on CPU 1, warm-up then the measured run,
a fresh server process each time), once per round; the outputs are suite.md, suite.json and
suite.png in benches/results/ (or --out-dir). The TLS scenarios (tls-hello, tls-big, tls-file)
repeat hello, big and file over HTTPS with a certificate the run makes in its scratch folder.
"""

import argparse
import datetime
import os
import platform
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bootstrap  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
from apps import BIG_SIZE, FILE_SIZE, HELLO, UPLOAD_SIZE, data_file  # noqa: E402
from frameworks import DJANGO_BODY_START, FLASK_BODY  # noqa: E402
from measure import (  # noqa: E402
    WRK_CPU,
    Wrk,
    check_answer,
    client_context,
    free_port,
    make_certificate,
    tls_session,
    tree_cpu_seconds,
    tree_memory_kib,
    wait_listening,
    wrk_version,
)

__all__ = ["main"]

SCENARIOS = ["hello", "close", "sleep", "big", "file", "upload", "idle", "thello", "flask",
             "tflask", "django", "tdjango", *peers.TLS]
CONNECTIONS = {"hello": 32, "close": 32, "sleep": 64, "big": 8, "file": 4, "upload": 8, "idle": 32,
               "thello": 32, "flask": 32, "tflask": 32, "django": 32, "tdjango": 32}
PATHS = {"sleep": "/sleep", "big": "/big", "file": "/file", "upload": "/upload",
         "flask": "/json?name=bench", "tflask": "/json?name=bench", "django": "/page",
         "tdjango": "/page"}
# A TLS scenario: its plain one's route and connections, over HTTPS.
CONNECTIONS.update({s: CONNECTIONS[peers.plain(s)] for s in peers.TLS})
PATHS.update({s: PATHS.get(peers.plain(s), "/") for s in peers.TLS})
THREADS_NOTE = ("8 threads where a server has them: wsgiref-rs a `ThreadingMixIn` server with "
                "`engine_threads = 8`, and wsgiref-rs-cli `wsgiref-rs --workers 1 --threads 8`; "
                "granian `--blocking-threads 8`; gunicorn `--threads 8` (gthread worker); waitress "
                "`threads=8`; the stdlib a `ThreadingMixIn` server (a thread per connection). "
                "bjoern and fastwsgi run as they are (one request at a time).")
SINGLE_NOTE = ("One request at a time: wsgiref-rs and the stdlib through `make_server`; granian "
               "`--blocking-threads 1`; gunicorn's sync worker; waitress `threads=1`; bjoern and "
               "fastwsgi as they are.")
FRAMEWORK_NOTE = ("Flask: a view answering `jsonify()` of a small dict with the query argument "
                  "(benches/frameworks.py). Django: a view rendering a template over an ORM query "
                  "(ten users from SQLite, connections kept: `CONN_MAX_AGE = None`), no middleware.")
IDLE_CONNECTIONS = 10_000
CACHE = os.path.join(HERE, ".cache")
REEXEC = "BENCH_SUITE_REEXEC"
NOTES = {
    "hello": "The standard library's server speaks HTTP/1.0 and gunicorn's sync worker closes the "
             "connection after each response: wrk reconnects for both. wsgiref-rs and the stdlib "
             "run through `make_server` with a handler whose `log_message` does nothing, and "
             "`request_queue_size = 1024` (socketserver's default backlog is 5; the peers listen "
             "with 511 to 2048).",
    "sleep": "8 threads where a server has them: wsgiref-rs a `ThreadingMixIn` server with "
             "`engine_threads = 8`, and wsgiref-rs-cli `--threads 8`; granian `--blocking-threads 8`; "
             "gunicorn `--threads 8` (gthread "
             "worker); waitress `threads=8`; the stdlib a `ThreadingMixIn` server, which starts a "
             "thread per connection and closes every connection after one request, so its "
             "threads are not capped at 8 and its ceiling is 6,400 req/s, not 800. bjoern and fastwsgi run as they are "
             "(one request at a time). nginx: n/a (no application). The ceiling is 800 req/s.",
    "file": "CPU per file in ms. wrk's `--timeout` is 60 s here. A file still being sent when wrk "
            "stops costs CPU but is not counted, which weighs on slow servers.",
    "upload": "nginx: n/a (no application reads the body).",
    "thello": THREADS_NOTE,
    "flask": f"{FRAMEWORK_NOTE} {SINGLE_NOTE}",
    "tflask": f"{FRAMEWORK_NOTE} {THREADS_NOTE}",
    "django": f"{FRAMEWORK_NOTE} {SINGLE_NOTE}",
    "tdjango": f"{FRAMEWORK_NOTE} {THREADS_NOTE}",
    "tls-hello": "hello over HTTPS, keep-alive: the handshake happens once per connection, so "
                 "this is the cost of encrypting and decrypting small records. gunicorn's sync "
                 "worker closes the connection after each response, so for it every request "
                 "is a full TLS handshake (as every hello request is a new TCP connection).",
    "tls-big": "big over HTTPS: the 1 MiB body is encrypted by the server and decrypted by wrk "
               "on its one CPU, so wrk's share matters more here than in big.",
    "tls-file": "file over HTTPS; CPU per file in ms. No server here can sendfile(2) into TLS: "
                "wsgiref-rs reads the file in 64 KiB preads and hands them to rustls; nginx reads "
                "and encrypts (kernel TLS, which would let it sendfile, is off by default); "
                "granian iterates the file (it has no `wsgi.file_wrapper`); gunicorn's "
                "FileWrapper is iterated, as gunicorn does not sendfile to an SSL socket.",
    "idle": "The idle client (benches/idle.py, on CPU 1) opens 10,000 connections in batches of "
            "250, one GET / on each, and holds them open while wrk runs hello (32 connections) "
            "again. KiB per idle connection = RSS growth / connections still open when RSS was "
            "read. Settings so that idle connections may stay: wsgiref-rs `keepalive_timeout = 60`; "
            "waitress `connection_limit=20000`, "
            "`asyncore_use_poll=True`, `channel_timeout=300`; granian "
            "`--http1-header-read-timeout 60000 --backpressure 20000`; nginx `keepalive_timeout 120s`, "
            "`worker_connections 20000`. The stdlib and gunicorn's sync worker close each "
            "connection after its response, so they hold none (the client closes its end then, "
            "as a browser would; gunicorn waits for that before it takes the next connection). "
            "The client gives up on opening more after 120 s.",
}


# --- One server, one scenario ----------------------------------------------------------------------

def load(scenario, seconds):
    path = PATHS.get(scenario, "/")
    headers = ["Connection: close"] if scenario == "close" else []
    script = os.path.join(HERE, "upload.lua") if scenario == "upload" else None
    timeout = 60 if peers.plain(scenario) == "file" else None
    return Wrk(CONNECTIONS[scenario], seconds, path, headers, script, timeout,
               tls=scenario in peers.TLS)


def check(scenario, port, tls=None):
    """The server's answer to one request of the scenario, before anything is measured (over TLS
    with the client settings `tls` in a TLS scenario)."""
    if scenario in peers.TLS:
        expected = {"tls-big": BIG_SIZE, "tls-file": FILE_SIZE}.get(scenario, HELLO)
        return check_answer(port, "GET", PATHS[scenario], None, expected, tls=tls)
    if scenario == "upload":
        return check_answer(port, "POST", "/upload", b"x" * UPLOAD_SIZE, str(UPLOAD_SIZE).encode())
    if scenario in ("django", "tdjango"):
        return check_answer(port, "GET", PATHS[scenario], None, DJANGO_BODY_START, prefix=True)
    expected = {"big": BIG_SIZE, "file": FILE_SIZE, "flask": FLASK_BODY,
                "tflask": FLASK_BODY}.get(scenario, HELLO)
    return check_answer(port, "GET", PATHS.get(scenario, "/"), None, expected,
                        close=scenario == "close")


def stop(proc, grace=3.0):
    """Ends the process group we started for `proc` (the server and any workers it forked)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group, if any
    except ProcessLookupError:
        pass
    proc.wait()


def measured(proc, wrk, port, seconds):
    before = tree_cpu_seconds(proc.pid)
    figures = wrk.run(port, seconds)
    cpu = tree_cpu_seconds(proc.pid) - before
    rss, hwm = tree_memory_kib(proc.pid)
    requests = figures["requests"]
    figures.update(server_cpu_s=cpu, cpu_us=cpu / requests * 1e6 if requests else None,
                   rss_kib=rss, hwm_kib=hwm)
    return figures


def _readline(proc, timeout):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        raise RuntimeError("the idle client gave no answer")
    return line


def idle_phase(proc, wrk, port, seconds):
    """RSS before and after 10,000 idle connections open, then hello again with them held."""
    rss_before, _ = tree_memory_kib(proc.pid)
    client = subprocess.Popen(
        ["taskset", "-c", WRK_CPU, sys.executable, os.path.join(HERE, "idle.py"), str(port),
         str(IDLE_CONNECTIONS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, opened, failed, took = _readline(client, 900).split()
        time.sleep(1.0)  # let the server finish with the last batch
        rss_after, _ = tree_memory_kib(proc.pid)
        client.stdin.write("count\n")
        client.stdin.flush()
        open_at_rss = int(_readline(client, 60))
        with_idle = measured(proc, wrk, port, seconds)
        client.stdin.write("count\n")
        client.stdin.flush()
        still_open = int(_readline(client, 60))
        client.stdin.write("quit\n")
        client.stdin.flush()
    finally:
        stop(client)
    return {
        "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        "kib_per_conn": (rss_after - rss_before) / open_at_rss if open_at_rss else None,
        "opened": int(opened), "open_failed": int(failed), "open_seconds": float(took),
        "open_at_rss": open_at_rss, "still_open": still_open,
        "rps_idle": with_idle["rps"], "p99_idle_ms": with_idle["p99_ms"],
        "cpu_us_idle": with_idle["cpu_us"], "wrk_cpu_share_idle": with_idle["wrk_cpu_share"],
        "requests_idle": with_idle["requests"], "non2xx_idle": with_idle["non2xx"],
        "socket_errors_idle": with_idle["socket_errors"],
    }


def _tail(path, size=400):
    try:
        with open(path, errors="replace") as f:
            text = f.read()[-size:].strip()
    except OSError:
        return ""
    return f" (server output: {text})" if text else ""


def run_one(server, scenario, args, files, scratch_root, cert=(None, None)):
    """One server, one scenario, one round: a dict of figures, or a failure with its reason.
    `cert` is (certfile, keyfile), used in the TLS scenarios."""
    base = {"scenario": scenario, "server": server}
    if (server, scenario) in peers.UNSUPPORTED:
        return {**base, "status": "n/a", "reason": peers.UNSUPPORTED[(server, scenario)]}
    scratch = tempfile.mkdtemp(prefix=f"{server}-{scenario}-", dir=scratch_root)
    port = free_port()
    argv, env = peers.command(server, scenario, port, peers.Context(*files, scratch, *cert))
    tls = client_context(cert[0]) if scenario in peers.TLS else None
    log_path = os.path.join(scratch, "server.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        wait_listening(port, proc)
        headers = check(scenario, port, tls)
        session = tls_session(port, tls) if tls else None
        wrk = load(scenario, args.seconds)
        wrk.run(port, args.warmup)
        result = measured(proc, wrk, port, args.seconds)
        if peers.plain(scenario) == "file":
            result["file_wrapper"] = headers.get("X-File-Wrapper")  # None: nginx
        if session:
            result["tls"] = session
        if scenario == "idle":
            result.update(idle_phase(proc, wrk, port, args.seconds))
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited (status {proc.returncode}) during the run")
        return {**base, "status": "ok", **result}
    except Exception as e:  # noqa: BLE001 - any failure is reported, the suite goes on
        return {**base, "status": "failed", "reason": f"{e}{_tail(log_path)}"}
    finally:
        stop(proc)


def _progress(run):
    if run["status"] != "ok":
        return f"{run['status']}: {run.get('reason', '')[:200]}"
    cpu = run["cpu_us"]
    text = (f"{run['rps']:10,.0f} req/s  p99 {run['p99_ms'] or 0:8.2f} ms  "
            f"CPU {cpu if cpu is not None else float('nan'):9.1f} us/req  wrk {run['wrk_cpu_share']:.0%}")
    if run["scenario"] == "idle":
        text += (f"  | idle: {run['opened']} answered, {run['still_open']} open at end, "
                 f"{run['kib_per_conn'] or 0:.2f} KiB/conn, {run['rps_idle']:,.0f} req/s with idle")
    return text


# --- The whole run -------------------------------------------------------------------------------

def django_database(folder):
    """The SQLite file the Django scenarios read, made once (by the suite, never by a server)."""
    path = os.path.join(folder, "django.sqlite3")
    if not os.path.exists(path):
        os.makedirs(folder, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(HERE, "frameworks.py"), "prepare"],
                       check=True, env=dict(os.environ, BENCH_DB=path + ".part"))
        os.replace(path + ".part", path)
    return path


def _git(*args):
    try:
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {model or 'unknown CPU'}, {os.cpu_count()} cores, " \
           f"{memory:.0f} GiB, {platform.platform()}"


def load_average():
    """/proc/loadavg's 1, 5 and 15 minute figures: how busy the machine was besides us."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def meta(args, argv):
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benches/results"):
        commit += " (with uncommitted changes)"
    return {
        "machine": machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "commit": commit,
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "versions": peers.versions(),
        "wrk": wrk_version(),
        "command": " ".join(["python3", "benches/suite.py", *argv]),
        "warmup": args.warmup, "seconds": args.seconds, "rounds": args.rounds, "quick": args.quick,
        "connections": {**CONNECTIONS, "idle": f"{IDLE_CONNECTIONS:,} idle + 32"},
        "servers": args.servers, "scenarios": args.scenarios,
        "loadavg_start": load_average(),
        "openssl": _openssl_version() if set(args.scenarios) & set(peers.TLS) else None,
    }


def _openssl_version():
    try:
        return subprocess.run(["openssl", "version"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _names(text, known, what):
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(peers.SERVERS), help="comma-separated subset")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    parser.add_argument("--quick", action="store_true", help="1 s runs, one round (a smoke run)")
    parser.add_argument("--rounds", type=int, help="rounds over all servers (default 2)")
    parser.add_argument("--seconds", type=int, help="measured seconds per run (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up seconds per run (default 1)")
    parser.add_argument("--no-setup", action="store_true", help="skip apt-get and the venv install")
    parser.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    args.servers = _names(args.servers, peers.SERVERS, "server")
    args.scenarios = _names(args.scenarios, SCENARIOS, "scenario")
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.seconds = args.seconds or (1 if args.quick else 5)
    return args


def _in_venv():
    return os.path.realpath(sys.prefix) == os.path.realpath(bootstrap.VENV)


def main(argv):
    args = parse_args(argv)
    if not args.no_setup:
        bootstrap.ensure_system_packages()
        bootstrap.ensure_venv()
    python = bootstrap.venv_python()
    if not _in_venv() and os.path.exists(python) and not os.environ.get(REEXEC):
        os.environ[REEXEC] = "1"
        extra = [] if args.no_setup else ["--no-setup"]
        os.execv(python, [python, os.path.abspath(__file__), *argv, *extra])
    shown_argv = argv[:-1] if os.environ.get(REEXEC) and argv[-1:] == ["--no-setup"] else argv
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: run without --no-setup, or install it")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the servers inherit it (idle)
    files = (data_file(CACHE, "big-1MiB.bin", BIG_SIZE), data_file(CACHE, "file-64MiB.bin", FILE_SIZE),
             django_database(CACHE))
    info = meta(args, shown_argv)
    print(f"{info['python']}, commit {info['commit']}; servers: {', '.join(args.servers)}; "
          f"{args.rounds} round(s) of {args.warmup}+{args.seconds} s", flush=True)

    runs = []
    with tempfile.TemporaryDirectory(prefix="wsgiref-rs-bench-") as scratch_root:
        tls = set(args.scenarios) & set(peers.TLS)
        cert = make_certificate(scratch_root) if tls else (None, None)
        for scenario in args.scenarios:
            for rnd in range(1, args.rounds + 1):
                for server in args.servers:
                    run = run_one(server, scenario, args, files, scratch_root, cert)
                    run["round"] = rnd
                    runs.append(run)
                    print(f"{scenario:9} r{rnd} {server:14} {_progress(run)}", flush=True)
    info["loadavg_end"] = load_average()

    os.makedirs(args.out_dir, exist_ok=True)
    md, js, png = (os.path.join(args.out_dir, f"suite.{ext}") for ext in ("md", "json", "png"))
    report.write_json(js, info, runs)
    med = report.write_markdown(md, info, runs, args.servers, args.scenarios, NOTES)
    try:
        report.write_chart(png, med, args.servers, args.scenarios)
    except ImportError:
        print("matplotlib is missing: no chart", file=sys.stderr)
    print(f"wrote {md}, {js}, {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
