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

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import side_by_side  # noqa: E402

CONFIGS = {"without": [], "with": ["--metrics-bind", "127.0.0.1:0"]}
PACKAGE = os.path.join(os.path.dirname(HERE), "python")


def main():
    args = side_by_side.arguments(__doc__.splitlines()[0], note=True)
    figures = side_by_side.alternate(CONFIGS, args, [sys.executable, "-m", "wsgiref_rs"],
                                     [PACKAGE, HERE])
    lines = side_by_side.header(
        "The cost of counting for `--metrics-bind`", "benches/metrics.py", args,
        "the server (supervisor and one worker) on CPU 0, configurations alternated; CPU is the "
        "server's process tree's per request. Medians over the rounds, and each round's figures.")
    lines += [*(["", args.note] if args.note else []), "",
              *side_by_side.table(figures, "metrics", str), ""]
    for scenario in side_by_side.SCENARIOS:
        lines.append(f"- {scenario}: CPU per request with/without metrics "
                     f"{side_by_side.ratio(figures, scenario, 'with', 'without'):.3f} "
                     f"(budget 1.02)")
    side_by_side.write("metrics.md", lines)


if __name__ == "__main__":
    main()
