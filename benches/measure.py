"""What the suite reads off a run: wrk's figures and its own CPU time, and a server's CPU time and
memory summed over its whole process tree (/proc), plus the helpers to wait for a server, check
its answer before it is measured (over TLS too) and make the TLS scenarios' certificate."""

import http.client
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time

__all__ = ["Wrk", "check_answer", "client_context", "free_port", "make_certificate", "process_tree",
           "tls_session", "tree_cpu_seconds", "tree_memory_kib", "wait_listening", "wrk_version"]

TICK = os.sysconf("SC_CLK_TCK")
WRK_CPU = "1"  # the load generator's CPU; the server gets CPU 0
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
        return f.read().rpartition(")")[2].split()


def process_tree(root):
    """`root` and every process descended from it (walks /proc once for the parent links)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(_stat_fields(entry)[1])  # field 4
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def tree_cpu_seconds(root):
    """utime + stime (fields 14 and 15) summed over the process tree, in seconds."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue  # ended between the walk and the read
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def tree_memory_kib(root):
    """(VmRSS, VmHWM) summed over the process tree, in KiB: now, and each process's peak."""
    rss = hwm = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
        except OSError:
            continue
    return rss, hwm


def wait_listening(port, proc, timeout=30.0):
    """Waits until something accepts on `port`; raises if `proc` ends or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout:.0f} s")


def make_certificate(folder):
    """(certfile, keyfile): a self-signed P-256 ECDSA certificate for 127.0.0.1 and localhost,
    valid two days, made with the openssl command in `folder`. Every server of the TLS scenarios
    gets this one, so the handshake costs them the same."""
    certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", keyfile, "-out", certfile, "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "2"],
        check=True, capture_output=True)
    return certfile, keyfile


def client_context(certfile):
    """A client's TLS settings that trust `certfile` (self-signed) and nothing else."""
    return ssl.create_default_context(cafile=certfile)


def tls_session(port, context, timeout=10.0):
    """What a client negotiates with the server on `port`: "TLSv1.3 TLS_AES_256_GCM_SHA384".
    Python's ssl and wrk link the same OpenSSL and offer its defaults, so wrk gets the same."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return f"{tls.version()} {tls.cipher()[0]}"


def check_answer(port, method, path, body, expected, close=False, timeout=60.0, prefix=False,
                 tls=None):
    """One request with http.client (over TLS with the client settings `tls`): raises unless the
    status is 200 and the body is `expected` (bytes; with `prefix`, starts with it) or `expected`
    bytes long (int); returns the response's headers."""
    if tls is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    try:
        headers = {"Connection": "close"} if close else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: status {response.status}")
    if isinstance(expected, int) and len(data) != expected:
        raise RuntimeError(f"{method} {path}: {len(data)} bytes, expected {expected}")
    if isinstance(expected, bytes) and (data[:len(expected)] if prefix else data) != expected:
        raise RuntimeError(f"{method} {path}: body {data[:40]!r}, expected {expected!r}")
    return response.headers


def wrk_version():
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"wrk (\S+)", out)
    return match.group(1) if match else "unknown"


class Wrk:
    """One `wrk -t1` run pinned to CPU 1, with --latency; run() returns its figures as a dict."""

    def __init__(self, connections, seconds, path="/", headers=(), script=None, timeout=None,
                 tls=False):
        self.connections = connections
        self.seconds = seconds
        self.path = path
        self.headers = headers
        self.script = script
        self.timeout = timeout
        self.scheme = "https" if tls else "http"  # wrk does not check the certificate

    def argv(self, port, seconds):
        argv = ["taskset", "-c", WRK_CPU, "wrk", "-t1", f"-c{self.connections}", f"-d{seconds}s",
                "--latency"]
        for header in self.headers:
            argv += ["-H", header]
        if self.script:
            argv += ["-s", self.script]
        if self.timeout:
            argv += ["--timeout", f"{self.timeout}s"]
        return argv + [f"{self.scheme}://127.0.0.1:{port}{self.path}"]

    def run(self, port, seconds=None):
        """Runs wrk to its end. Its CPU time comes from wait4()'s rusage (taskset execs wrk)."""
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(self.argv(port, seconds or self.seconds), stdout=out,
                                    stderr=subprocess.STDOUT, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            text = out.read()
        if proc.returncode != 0:
            raise RuntimeError(f"wrk exited with {proc.returncode}: {text.strip()[-300:]}")
        return parse_wrk(text, usage.ru_utime + usage.ru_stime)


def parse_wrk(text, cpu_seconds):
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", text)
    if done is None:
        raise RuntimeError(f"unexpected wrk output: {text.strip()[-300:]}")
    duration_s = float(done.group(2)) * UNITS[done.group(3)] / 1e3
    requests = int(done.group(1))
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m|h)", text, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = dict(zip(("connect", "read", "write", "timeout"),
                             (int(n) for n in sockets.groups()))) if sockets else {}
    return {
        "requests": requests,
        "duration_s": duration_s,
        "rps": requests / duration_s if duration_s else 0.0,
        "p99_ms": float(p99.group(1)) * UNITS[p99.group(2)] if p99 and requests else None,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": socket_errors,
        "wrk_cpu_s": cpu_seconds,
        "wrk_cpu_share": cpu_seconds / duration_s if duration_s else 0.0,
    }
