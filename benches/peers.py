"""The servers the suite runs: for each, the command line that serves the benchmark app (or, for
nginx, the same routes from a generated configuration) in a given scenario, pinned to CPU 0."""

import os
import subprocess
import sys
from importlib import metadata

__all__ = ["SERVERS", "TLS", "UNSUPPORTED", "Context", "command", "plain", "versions"]

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_CPU = "0"
THREADS = 8
SERVERS = ["wsgiref-rs", "wsgiref-rs-cli", "stdlib", "bjoern", "fastwsgi", "granian", "gunicorn",
           "waitress", "nginx"]
IN_PROCESS = {"wsgiref-rs", "stdlib", "bjoern", "fastwsgi", "waitress"}  # started by serve.py
DISTRIBUTIONS = {"wsgiref-rs": "wsgiref-rs", "bjoern": "bjoern", "fastwsgi": "fastwsgi",
                 "granian": "granian", "gunicorn": "gunicorn", "waitress": "waitress",
                 "flask": "flask", "django": "django", "matplotlib": "matplotlib"}
# The scenarios run on 8 threads where a server has them (../shared/BENCHMARKING.md).
THREADED = {"sleep", "thello", "tflask", "tdjango"}
# The application each scenario runs ("module:attribute" in this folder).
APPS = {"flask": "frameworks:flask_app", "tflask": "frameworks:flask_app",
        "django": "frameworks:django_app", "tdjango": "frameworks:django_app"}
NO_APP = ("sleep", "upload", "thello", "flask", "tflask", "django", "tdjango")
# The scenarios over HTTPS: each is the plain scenario of the same name without `tls-`.
TLS = ("tls-hello", "tls-big", "tls-file")
NO_TLS = ("wsgiref-rs", "stdlib", "bjoern", "fastwsgi", "waitress")
# (server, scenario) pairs that do not apply, and why (the report says so).
UNSUPPORTED = {
    **{("nginx", s): "nginx runs no application code" for s in NO_APP},
    # hello, big and file run it too: they are the plain baselines of its TLS rows.
    **{("wsgiref-rs-cli", s): "the command line is measured in the threaded, the framework and "
                              "the TLS scenarios and their plain baselines (elsewhere it runs the "
                              "engine as the wsgiref-rs row does)"
       for s in ("close", "upload", "idle")},
    **{(server, s): "no TLS" + (" (only the command line `wsgiref-rs APP --certfile --keyfile` "
                                "serves HTTPS)" if server == "wsgiref-rs" else "")
       for server in NO_TLS for s in TLS},
}


def plain(scenario):
    """The plain-HTTP scenario a TLS scenario repeats over HTTPS (others: itself)."""
    return scenario.removeprefix("tls-")


def app_spec(scenario):
    """The application of `scenario`, as "module:attribute" in this folder."""
    return APPS.get(scenario, "apps:app")


class Context:
    """What a command line needs: the data files, Django's database, a scratch folder for this
    server's run, and the certificate and key of the TLS scenarios (PEM files)."""

    def __init__(self, big_file, data_file, database, scratch, certfile=None, keyfile=None):
        self.big_file = big_file
        self.data_file = data_file
        self.database = database
        self.scratch = scratch
        self.certfile = certfile
        self.keyfile = keyfile


def command(server, scenario, port, ctx):
    """(argv, env) starting `server` for `scenario` on 127.0.0.1:`port`."""
    env = dict(os.environ, BENCH_FILE=ctx.data_file, BENCH_DB=ctx.database,
               PYTHONDONTWRITEBYTECODE="1")
    pin = ["taskset", "-c", SERVER_CPU]
    bindir = os.path.dirname(sys.executable)
    if server in IN_PROCESS:
        return pin + [sys.executable, os.path.join(HERE, "serve.py"), server, str(port), scenario], env
    if server == "granian":
        argv = [os.path.join(bindir, "granian"), "--interface", "wsgi", "--workers", "1",
                "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "error",
                "--working-dir", HERE]
        # Its own default is one blocking thread per worker: the single-threaded configuration.
        argv += ["--blocking-threads", str(THREADS if scenario in THREADED else 1)]
        if scenario == "idle":
            # The longest header-read timeout granian allows, so idle connections stay open, and
            # room for them: granian serves at most --backpressure connections (default 1024).
            argv += ["--http1-header-read-timeout", "60000", "--backpressure", "20000"]
        if scenario in TLS:
            argv += ["--ssl-certificate", ctx.certfile, "--ssl-keyfile", ctx.keyfile]
        return pin + argv + [app_spec(scenario)], env
    if server == "gunicorn":
        argv = [os.path.join(bindir, "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}",
                "--log-level", "error", "--chdir", HERE]
        if scenario in THREADED:
            argv += ["--threads", str(THREADS)]  # the gthread worker
        if scenario in TLS:
            argv += ["--certfile", ctx.certfile, "--keyfile", ctx.keyfile]  # Python's ssl
        return pin + argv + [app_spec(scenario)], env
    if server == "wsgiref-rs-cli":
        argv = [os.path.join(bindir, "wsgiref-rs"), app_spec(scenario), "--bind",
                f"127.0.0.1:{port}", "--workers", "1", "--no-access-log"]
        if scenario in THREADED:
            argv += ["--threads", str(THREADS)]
        if scenario in TLS:
            argv += ["--certfile", ctx.certfile, "--keyfile", ctx.keyfile]
        return pin + argv, dict(env, PYTHONPATH=HERE)
    if server == "nginx":
        conf = nginx_conf(port, ctx, tls=scenario in TLS)
        return pin + [nginx_binary(), "-p", ctx.scratch, "-c", conf, "-e",
                      os.path.join(ctx.scratch, "error.log")], env
    raise ValueError(f"unknown server {server!r}")


def nginx_binary():
    for path in ("/usr/sbin/nginx", "/usr/bin/nginx"):
        if os.path.exists(path):
            return path
    return "nginx"


def nginx_conf(port, ctx, tls=False):
    """One process (no master, no worker user to drop to: it reads the data files as we do), in
    the foreground, no access log, every temp path in the scratch folder; with `tls`, the same
    routes over TLS 1.3 only (nginx cannot sendfile into OpenSSL without kernel TLS, which is off
    by default, so it reads and encrypts the files as a WSGI server must)."""
    s = ctx.scratch
    listen = f"listen 127.0.0.1:{port} backlog=1024;"
    if tls:
        listen = (f"listen 127.0.0.1:{port} ssl backlog=1024;\n"
                  f"        ssl_certificate {ctx.certfile};\n"
                  f"        ssl_certificate_key {ctx.keyfile};\n"
                  "        ssl_protocols TLSv1.3;")
    text = f"""
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid {s}/nginx.pid;
error_log {s}/error.log error;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    client_body_temp_path {s}/body;
    proxy_temp_path {s}/proxy;
    fastcgi_temp_path {s}/fastcgi;
    uwsgi_temp_path {s}/uwsgi;
    scgi_temp_path {s}/scgi;
    server {{
        {listen}
        location = / {{ default_type text/plain; return 200 "Hello, world!"; }}
        location = /big {{ default_type application/octet-stream; alias {ctx.big_file}; }}
        location = /file {{ default_type application/octet-stream; alias {ctx.data_file}; }}
    }}
}}
"""
    path = os.path.join(s, "nginx.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def versions():
    """{name: version} of every server and tool the report names."""
    found = {"Python": sys.version.split()[0]}
    for name, dist in DISTRIBUTIONS.items():
        try:
            found[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    try:
        out = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True).stderr
        found["nginx"] = out.strip().rpartition("/")[2] or "unknown"
    except OSError:
        found["nginx"] = "not installed"
    return found
