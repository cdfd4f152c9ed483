"""hello (keep-alive, 32 connections): wsgiref-rs against the standard library and bjoern.

Per ../shared/BENCHMARKING.md: each server pinned to CPU 0, `wrk -t1` pinned to CPU 1, 1 s warm-up
then 5 s, two rounds, medians; the server's CPU seconds per request from /proc/PID/stat. Needs
`wrk` (Debian package) and, for bjoern, a Python with bjoern installed (--bjoern-python).

    python benches/hello.py [--bjoern-python PATH] [--out benches/results/hello.md]
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from micro import header, write_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15)


def wait_listening(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wrk(port, seconds, connections=32):
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return requests, rps, float(p99.group(1)) * scale, errors.group(0) if errors else ""


def run_one(name, python):
    port = free_port()
    proc = subprocess.Popen(
        ["taskset", "-c", "0", python, os.path.join(HERE, "serve.py"), name, str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        wrk(port, 1)  # warm-up
        before = cpu_seconds(proc.pid)
        requests, rps, p99, errors = wrk(port, 5)
        cpu = cpu_seconds(proc.pid) - before
        return {"rps": rps, "p99_ms": p99, "cpu_us": cpu / max(requests, 1) * 1e6, "errors": errors}
    finally:
        proc.kill()
        proc.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bjoern-python", help="a Python that has bjoern installed")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "hello.md"))
    args = parser.parse_args()
    servers = [("stdlib", sys.executable), ("wsgiref-rs", sys.executable)]
    if args.bjoern_python:
        servers.append(("bjoern", args.bjoern_python))
    rounds = {name: [] for name, _ in servers}
    for _ in range(2):
        for name, python in servers:
            rounds[name].append(run_one(name, python))
            print(name, rounds[name][-1], flush=True)
    med = {n: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p99_ms", "cpu_us")} for n, rs in rounds.items()}
    ours = med["wsgiref-rs"]
    lines = ["# hello, keep-alive, 32 connections", "", header(),
             "Server pinned to CPU 0, `wrk -t1 -c32` to CPU 1; 1 s warm-up, 5 s measured, median of two rounds.",
             "The stdlib's server speaks HTTP/1.0 and closes every connection, so wrk reconnects for it.", "",
             "| server | requests/s | p99 (ms) | server CPU µs/request | ours/peer requests/s | peer/ours CPU |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, m in med.items():
        lines.append(f"| {name} | {m['rps']:.0f} | {m['p99_ms']:.2f} | {m['cpu_us']:.1f} | "
                     f"{ours['rps'] / m['rps']:.2f}x | {m['cpu_us'] / ours['cpu_us']:.2f}x |")
    write_report(args.out, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
