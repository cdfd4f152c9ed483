"""Micro-benchmark: every `util` function and `Headers` operation, ours against the standard library's.

Both run in the same process, one after the other, on the same inputs; the report gives the time
per call of each and the ratio stdlib/ours (above 1 means we are faster). Pinned to CPU 0 where the
platform allows it, per ../shared/BENCHMARKING.md.

    python benches/micro.py [--quick] [--out benches/results/micro.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import timeit
import wsgiref.handlers
import wsgiref.headers
import wsgiref.util

import wsgiref_rs.headers
import wsgiref_rs.util

ENVIRON = (
    "{'wsgi.url_scheme': 'http', 'HTTP_HOST': 'example.com:8080', 'SERVER_NAME': 'example.com',"
    " 'SERVER_PORT': '8080', 'SCRIPT_NAME': '/app', 'PATH_INFO': '/a b/c%d/ü',"
    " 'QUERY_STRING': 'x=1&y=2', 'HTTPS': 'off'}"
)
HEADER_LIST = (
    "[('Content-Type', 'text/html; charset=utf-8'), ('Content-Length', '1234'),"
    " ('Set-Cookie', 'a=1'), ('Set-Cookie', 'b=2'), ('X-Frame-Options', 'DENY')]"
)

# (label, setup, statement); `m` is the module under test (the stdlib's or ours).
UTIL_CASES = [
    ("guess_scheme", f"env = {ENVIRON}", "m.guess_scheme(env)"),
    ("application_uri", f"env = {ENVIRON}", "m.application_uri(env)"),
    ("request_uri", f"env = {ENVIRON}", "m.request_uri(env)"),
    ("request_uri(include_query=False)", f"env = {ENVIRON}", "m.request_uri(env, False)"),
    ("shift_path_info", "", "m.shift_path_info({'SCRIPT_NAME': '/app', 'PATH_INFO': '/a/b/c'})"),
    ("setup_testing_defaults (empty environ)", "", "m.setup_testing_defaults({})"),
    ("setup_testing_defaults (full environ)", f"env = {ENVIRON}", "m.setup_testing_defaults(env)"),
    ("is_hop_by_hop (hit)", "", "m.is_hop_by_hop('Connection')"),
    ("is_hop_by_hop (miss)", "", "m.is_hop_by_hop('Content-Type')"),
    ("FileWrapper() construct", "import io; f = io.BytesIO(b'x')", "m.FileWrapper(f, 4)"),
    (
        "FileWrapper iterate 16 blocks",
        "import io; data = b'x' * 1024",
        "for _ in m.FileWrapper(io.BytesIO(data), 64): pass",
    ),
]
HEADER_CASES = [
    ("Headers(list of 5)", f"lst = {HEADER_LIST}", "m.Headers(lst)"),
    ("Headers() empty", "", "m.Headers()"),
    ("h[name] hit", f"h = m.Headers({HEADER_LIST})", "h['content-length']"),
    ("h.get(name) miss", f"h = m.Headers({HEADER_LIST})", "h.get('Location')"),
    ("name in h", f"h = m.Headers({HEADER_LIST})", "'X-Frame-Options' in h"),
    ("h[name] = value", f"h = m.Headers({HEADER_LIST})", "h['Content-Length'] = '99'"),
    ("del h[name]", f"h = m.Headers({HEADER_LIST})", "del h['Location']"),
    ("h.setdefault (present)", f"h = m.Headers({HEADER_LIST})", "h.setdefault('Set-Cookie', 'c')"),
    ("h.get_all", f"h = m.Headers({HEADER_LIST})", "h.get_all('Set-Cookie')"),
    ("h.keys()", f"h = m.Headers({HEADER_LIST})", "h.keys()"),
    ("h.values()", f"h = m.Headers({HEADER_LIST})", "h.values()"),
    ("h.items()", f"h = m.Headers({HEADER_LIST})", "h.items()"),
    ("len(h)", f"h = m.Headers({HEADER_LIST})", "len(h)"),
    ("str(h)", f"h = m.Headers({HEADER_LIST})", "str(h)"),
    ("bytes(h)", f"h = m.Headers({HEADER_LIST})", "bytes(h)"),
    ("repr(h)", f"h = m.Headers({HEADER_LIST})", "repr(h)"),
    (
        "h.add_header with params",
        "h = m.Headers([])",
        "h.add_header('Content-Disposition', 'attachment', filename='a b.gif', inline=None);"
        " h._headers.clear()",
    ),
]


def per_call_ns(module, setup: str, stmt: str, repeat: int) -> float:
    """Best time of `repeat` timing runs, in nanoseconds per call."""
    timer = timeit.Timer(stmt, setup, globals={"m": module})
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def run_group(title, stdlib_mod, our_mod, cases, repeat):
    rows = []
    for label, setup, stmt in cases:
        theirs = per_call_ns(stdlib_mod, setup, stmt, repeat)
        ours = per_call_ns(our_mod, setup, stmt, repeat)
        rows.append((title, label, theirs, ours, theirs / ours))
        print(f"{title:8} {label:40} stdlib {theirs:9.1f} ns   ours {ours:9.1f} ns   x{theirs / ours:5.2f}")
    return rows


def write_report(path: str, lines: list) -> None:
    """Writes the Markdown report (one line per item) to `path`, creating its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


def header() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return (
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}\n"
        f"- Python: {platform.python_implementation()} {platform.python_version()}\n"
        f"- commit: {commit}\n"
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "micro.md"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    repeat = 2 if args.quick else 7
    rows = run_group("util", wsgiref.util, wsgiref_rs.util, UTIL_CASES, repeat)
    rows += run_group("headers", wsgiref.headers, wsgiref_rs.headers, HEADER_CASES, repeat)
    slowest = min(rows, key=lambda r: r[4])
    lines = [
        "# Micro-benchmark: wsgiref-rs against the standard library's wsgiref",
        "",
        header(),
        "Time per call, best of the timing runs, same process; ratio = stdlib / ours (above 1: ours is faster).",
        "",
        "| module | operation | stdlib (ns) | wsgiref-rs (ns) | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [f"| {t} | `{label}` | {a:.1f} | {b:.1f} | {r:.2f}x |" for t, label, a, b, r in rows]
    lines += ["", f"Smallest ratio: {slowest[4]:.2f}x (`{slowest[1]}`)."]
    write_report(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
