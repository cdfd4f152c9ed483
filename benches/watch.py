"""What the supervisor's watch costs (issue 17): the `wsgiref-rs` command serving hello (one
request at a time) and thello (8 threads) unwatched (`--timeout 0`: the process serves itself,
no scoreboard) and watched (the default `--timeout 30`: a supervisor, and a worker that writes
each request on the scoreboard the supervisor reads 4 times a second), alternately, in one run.

    benches/.venv/bin/python benches/watch.py [--rounds N] [--seconds N]

Each run is a fresh server pinned to CPU 0 with `wrk -t1 -c32` on CPU 1 (the suite's protocol,
../shared/BENCHMARKING.md); the server's CPU time is its whole process tree's, the supervisor's
included. Writes benches/results/watch.md. Run the suite once first (it builds benches/.venv
with this checkout in release mode).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import side_by_side  # noqa: E402

CONFIGS = {"unwatched": ["--timeout", "0"], "watched": []}


def main():
    args = side_by_side.arguments(__doc__.splitlines()[0])
    # The command of the venv's wsgiref-rs (the suite's release build).
    command = [os.path.join(os.path.dirname(sys.executable), "wsgiref-rs")]
    figures = side_by_side.alternate(CONFIGS, args, command, [HERE])
    lines = side_by_side.header(
        "The cost of the supervisor's watch", "benches/watch.py", args,
        "the server on CPU 0, configurations alternated; CPU is the server's process tree's per "
        "request. Medians over the rounds, and each round's figures.")
    lines += ["", *side_by_side.table(
        figures, "configuration",
        lambda config: f"{config} ({' '.join(CONFIGS[config]) or 'default --timeout 30'})"), ""]
    for scenario in side_by_side.SCENARIOS:
        lines.append(f"- {scenario}: watched/unwatched CPU per request "
                     f"{side_by_side.ratio(figures, scenario, 'watched', 'unwatched'):.3f}")
    side_by_side.write("watch.md", lines)


if __name__ == "__main__":
    main()
