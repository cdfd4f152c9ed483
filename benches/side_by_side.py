"""Configurations of the `wsgiref-rs` command measured side by side in one run, for the scripts
that ask what one option costs (watch.py, metrics.py): each configuration serves each scenario
in turn, the order alternating from round to round, a fresh server each time, pinned to CPU 0
with `wrk -t1 -c32` on CPU 1 (the suite's protocol, ../shared/BENCHMARKING.md); the server's
CPU time is its whole process tree's. The figures are the suite's (`suite.measured`)."""

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

# The option scenarios: hello one request at a time, thello on 8 threads.
SCENARIOS = {"hello": [], "thello": ["--threads", "8"]}


def arguments(description, note=False):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    if note:
        parser.add_argument("--note", default="",
                            help="a line on the machine's state, for the report")
    return parser.parse_args()


def run(command, options, scenario, seconds, warmup, pythonpath):
    """One fresh server, `command` with `options` serving benches/apps.py, under `scenario`'s
    load: the suite's figures for it."""
    port = free_port()
    argv = ["taskset", "-c", "0", *command, "apps:app", "--bind", f"127.0.0.1:{port}",
            "--no-access-log", *options]
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=HERE,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, PYTHONPATH=os.pathsep.join(pythonpath)))
        try:
            wait_listening(port, proc)
            check(scenario, port)
            wrk = load(scenario, seconds)
            wrk.run(port, warmup)
            return measured(proc, wrk, port, seconds)
        finally:
            stop(proc)


def alternate(configs, args, command, pythonpath):
    """{(scenario, configuration): [each round's figures]}, configurations alternated."""
    figures = {(s, c): [] for s in SCENARIOS for c in configs}
    for round_ in range(args.rounds):
        for scenario in SCENARIOS:
            for config in configs if round_ % 2 == 0 else reversed(list(configs)):
                r = run(command, SCENARIOS[scenario] + configs[config], scenario, args.seconds,
                        args.warmup, pythonpath)
                figures[scenario, config].append(r)
                print(f"round {round_ + 1} {scenario:7} {config:10} {r['rps']:10,.0f} req/s  "
                      f"CPU {r['cpu_us']:6.2f} us/req", flush=True)
    return figures


def header(title, script, args, what):
    """The report's first lines: the title, the machine and commit, and how it was run."""
    info = meta(argparse.Namespace(warmup=args.warmup, seconds=args.seconds,
                                   rounds=args.rounds, quick=False, servers="wsgiref-rs-cli",
                                   scenarios="hello,thello"), sys.argv[1:])
    return [
        f"# {title}",
        "",
        f"{info['date']}, commit {info['commit']}, {info['python']}, {info['machine']}.",
        f"`{' '.join(['python', script, *sys.argv[1:]])}`: {args.rounds} rounds, "
        f"{args.seconds} s measured after {args.warmup} s of warm-up, wrk -t1 -c32 on CPU 1, "
        f"{what}",
    ]


def table(figures, column, label):
    """The figures' table: medians, then each round's; `label(config)` names a configuration."""
    lines = [
        f"| scenario | {column} | req/s | CPU us/req | rounds (req/s) | rounds (CPU us) |",
        "|---|---|---:|---:|---|---|",
    ]
    for (scenario, config), runs in figures.items():
        rps = [r["rps"] for r in runs]
        cpu = [r["cpu_us"] for r in runs]
        lines.append(
            f"| {scenario} | {label(config)} | {statistics.median(rps):,.0f} "
            f"| {statistics.median(cpu):.2f} "
            f"| {', '.join(f'{x:,.0f}' for x in rps)} | {', '.join(f'{x:.2f}' for x in cpu)} |"
        )
    return lines


def ratio(figures, scenario, over, under):
    """The median CPU per request of configuration `over` divided by `under`'s."""
    on = statistics.median(r["cpu_us"] for r in figures[scenario, over])
    off = statistics.median(r["cpu_us"] for r in figures[scenario, under])
    return on / off


def write(name, lines):
    """benches/results/NAME, ended with the time it was made; printed too."""
    lines = [*lines, "",
             f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC."]
    with open(os.path.join(HERE, "results", name), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
