"""What `--metrics-bind` costs: the `wsgiref-rs` command serving hello (one request at a time) and
thello (8 threads) under its supervisor (the default `--timeout 30`: a worker that shows its
requests on the scoreboard) without metrics and with them (`--metrics-bind`: the worker also
counts every request, its duration and bytes on the scoreboard), alternately, in one run. The
budget is 2% more CPU per request.

    benches/.venv/bin/python benches/metrics.py [--rounds N] [--seconds N]

Each run is a fresh server pinned to CPU 0 with `wrk -t1 -c32` on CPU 1 (the suite's protocol,
../shared/BENCHMARKING.md); the server's CPU time is its whole process tree's, the supervisor's
included (it is not scraped during the run: the cost measured is the counting's). The server is
`python -m wsgiref_rs` from this interpreter, with this checkout's `python/` first on the path,
so build the native module in release mode first. Writes benches/results/metrics.md.
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from measure import free_port, wait_listening  # noqa: E402
from suite import check, load, measured, meta, stop  # noqa: E402

CONFIGS = {"without": [], "with": ["--metrics-bind", "127.0.0.1:0"]}
SCENARIOS = {"hello": [], "thello": ["--threads", "8"]}
PACKAGE = os.path.join(os.path.dirname(HERE), "python")


def run(scenario, config, seconds, warmup):
    port = free_port()
    argv = ["taskset", "-c", "0", sys.executable, "-m", "wsgiref_rs", "apps:app", "--bind",
            f"127.0.0.1:{port}", "--no-access-log", *SCENARIOS[scenario], *CONFIGS[config]]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=HERE,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, PYTHONPATH=os.pathsep.join([PACKAGE, HERE])))
        try:
            wait_listening(port, proc)
            check(scenario, port)
            wrk = load(scenario, seconds)
            wrk.run(port, warmup)
            return measured(proc, wrk, port, seconds)
        finally:
            stop(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--note", default="", help="a line on the machine's state, for the report")
    args = parser.parse_args()
    figures = {(s, c): [] for s in SCENARIOS for c in CONFIGS}
    for round_ in range(args.rounds):
        for scenario in SCENARIOS:
            for config in CONFIGS if round_ % 2 == 0 else reversed(list(CONFIGS)):
                r = run(scenario, config, args.seconds, args.warmup)
                figures[scenario, config].append(r)
                print(f"round {round_ + 1} {scenario:7} {config:8} {r['rps']:10,.0f} req/s  "
                      f"CPU {r['cpu_us']:6.2f} us/req", flush=True)
    info = meta(argparse.Namespace(warmup=args.warmup, seconds=args.seconds,
                                   rounds=args.rounds, quick=False, servers="wsgiref-rs-cli",
                                   scenarios="hello,thello"), sys.argv[1:])
    lines = [
        "# The cost of counting for `--metrics-bind`",
        "",
        f"{info['date']}, commit {info['commit']}, {info['python']}, {info['machine']}.",
        f"`{' '.join(['python', 'benches/metrics.py', *sys.argv[1:]])}`: {args.rounds} rounds, "
        f"{args.seconds} s measured after {args.warmup} s of warm-up, wrk -t1 -c32 on CPU 1, the "
        "server (supervisor and one worker) on CPU 0, configurations alternated; CPU is the "
        "server's process tree's per request. Medians over the rounds, and each round's figures.",
        *(["", args.note] if args.note else []),
        "",
        "| scenario | metrics | req/s | CPU us/req | rounds (req/s) | rounds (CPU us) |",
        "|---|---|---:|---:|---|---|",
    ]
    for (scenario, config), runs in figures.items():
        rps = [r["rps"] for r in runs]
        cpu = [r["cpu_us"] for r in runs]
        lines.append(
            f"| {scenario} | {config} | {statistics.median(rps):,.0f} "
            f"| {statistics.median(cpu):.2f} "
            f"| {', '.join(f'{x:,.0f}' for x in rps)} | {', '.join(f'{x:.2f}' for x in cpu)} |"
        )
    lines.append("")
    for scenario in SCENARIOS:
        on = statistics.median(r["cpu_us"] for r in figures[scenario, "with"])
        off = statistics.median(r["cpu_us"] for r in figures[scenario, "without"])
        lines.append(f"- {scenario}: CPU per request with/without metrics {on / off:.3f} "
                     f"(budget 1.02)")
    lines.append("")
    lines.append(f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.")
    out = os.path.join(HERE, "results", "metrics.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
