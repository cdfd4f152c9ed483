"""User-space instructions per hello request of the wsgiref-rs server, counted by callgrind.

Instruction counts do not move with the machine's load, so they show what each optimisation
step saved where requests/s cannot. The server runs under `valgrind --tool=callgrind`; wrk
warms it up, a dump resets the counters, wrk runs again, and a second dump holds only the
measured requests. Needs `valgrind` and `wrk` (Debian packages).

    python benches/instructions.py [--python PATH] [--label TEXT] [--connection-close]
"""

import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from measure import free_port, wait_listening  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def wrk_requests(port, seconds, close):
    command = ["taskset", "-c", "1", "wrk", "-t1", "-c8", f"-d{seconds}s"]
    if close:
        command += ["-H", "Connection: close"]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"(\d+) requests in", out).group(1))


def dump(pid, expected, directory):
    subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, check=True)
    deadline = time.monotonic() + 30
    while len(glob.glob(os.path.join(directory, "out.*"))) < expected and time.monotonic() < deadline:
        time.sleep(0.2)


def total_instructions(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def measure(python, close=False, seconds=6):
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={directory}/out",
             python, os.path.join(HERE, "serve.py"), "wsgiref-rs", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_listening(port, proc, timeout=60)
            wrk_requests(port, 2, close)
            dump(proc.pid, 1, directory)
            requests = wrk_requests(port, seconds, close)
            dump(proc.pid, 2, directory)
            return total_instructions(os.path.join(directory, "out.2")) / requests, requests
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the Python that has wsgiref_rs")
    parser.add_argument("--label", default="", help="a name for the build measured")
    parser.add_argument("--connection-close", action="store_true", help="a new connection per request")
    args = parser.parse_args()
    per_request, requests = measure(args.python, args.connection_close)
    print(f"{args.label}\t{per_request:.0f} instructions/request ({requests} requests)")


if __name__ == "__main__":
    main()
