"""The suite's outputs from its raw runs: medians per scenario and server, the Markdown report
(header, the issue's targets met or not, one table per scenario with ratios ours/peer, what TLS
costs each server), the raw JSON, and the PNG chart."""

import json
import math
import os
import statistics

__all__ = ["OURS", "SCENARIO_TITLES", "medians", "write_chart", "write_json", "write_markdown"]

OURS = "wsgiref-rs"
OURS_CLI = "wsgiref-rs-cli"  # the command line, `wsgiref-rs --threads 8`
OUR_ROWS = (OURS, OURS_CLI)
WSGI_PEERS = ["bjoern", "fastwsgi", "granian", "gunicorn", "waitress", "stdlib"]
# Issue 15's real-application peers (the stdlib is no production server).
APP_PEERS = ["bjoern", "fastwsgi", "granian", "gunicorn", "waitress"]
COARSE_CPU_S = 10 / os.sysconf("SC_CLK_TCK")
WRK_BOUND = 0.95  # share of one CPU wrk used over its run, from which a figure is wrk's limit
SLEEP_CEILING = 800  # 8 threads x 100 requests/s each for a 10 ms app
SCENARIO_TITLES = {
    "hello": "GET /, 13-byte body, keep-alive",
    "close": "GET / with `Connection: close` on every request",
    "sleep": "the app sleeps 10 ms (GIL released), then answers",
    "big": "a 1 MiB body as a one-item list",
    "file": "a 64 MiB file through `wsgi.file_wrapper`",
    "upload": "POST of 1 MiB, read from `wsgi.input` in 64 KiB reads",
    "idle": "hello while 10,000 idle keep-alive connections are held open",
    "thello": "hello on 8 threads",
    "flask": "a Flask JSON endpoint, one request at a time",
    "tflask": "a Flask JSON endpoint on 8 threads",
    "django": "a Django template over an ORM query (SQLite), one request at a time",
    "tdjango": "a Django template over an ORM query (SQLite) on 8 threads",
    "tls-hello": "hello over HTTPS (TLS), keep-alive",
    "tls-big": "big over HTTPS (TLS): a 1 MiB body as a one-item list",
    "tls-file": "file over HTTPS (TLS): a 64 MiB file through `wsgi.file_wrapper`",
}
TLS_PREFIX = "tls-"
NUMERIC = ["rps", "p99_ms", "cpu_us", "server_cpu_s", "wrk_cpu_share", "hwm_kib", "rss_kib", "requests",
           "rps_idle", "p99_idle_ms", "cpu_us_idle", "wrk_cpu_share_idle", "rss_before_kib",
           "rss_after_kib", "kib_per_conn", "opened", "open_failed", "open_at_rss", "still_open",
           "open_seconds"]


def _plain(scenario):
    """The plain-HTTP scenario a TLS scenario repeats (others: itself)."""
    return scenario.removeprefix(TLS_PREFIX)


def _both_us(run):
    """The server's and wrk's CPU time together per request, in µs: on loopback the kernel's TCP
    work for a transfer is charged to whichever side happens to run it, so this is the figure
    that compares the whole work of a transfer."""
    if run.get("server_cpu_s") is None or run.get("wrk_cpu_s") is None or not run.get("requests"):
        return None
    return (run["server_cpu_s"] + run["wrk_cpu_s"]) / run["requests"] * 1e6


def medians(runs):
    """{scenario: {server: summary}}: the median of each figure over the rounds that ran, errors
    summed; a pair none of whose rounds ran keeps the status and reason of its last round."""
    grouped = {}
    for run in runs:
        grouped.setdefault(run["scenario"], {}).setdefault(run["server"], []).append(run)
    out = {}
    for scenario, servers in grouped.items():
        for server, rounds in servers.items():
            ok = [r for r in rounds if r["status"] == "ok"]
            if not ok:
                last = rounds[-1]
                summary = {"status": last["status"], "reason": last.get("reason", "")}
            else:
                summary = {"status": "ok", "rounds": len(ok), "of": len(rounds)}
                for key in NUMERIC:
                    values = [r[key] for r in ok if r.get(key) is not None]
                    summary[key] = statistics.median(values) if values else None
                both = [_both_us(r) for r in ok if _both_us(r) is not None]
                summary["both_us"] = statistics.median(both) if both else None
                summary["non2xx"] = sum(r.get("non2xx", 0) for r in ok)
                errors = {}
                for r in ok:
                    for kind, n in r.get("socket_errors", {}).items():
                        errors[kind] = errors.get(kind, 0) + n
                summary["socket_errors"] = errors
                summary["file_wrapper"] = ok[-1].get("file_wrapper")
                summary["tls"] = ok[-1].get("tls")
                failed = [r for r in rounds if r["status"] != "ok"]
                summary["reason"] = failed[-1].get("reason", "") if failed else ""
            out.setdefault(scenario, {})[server] = summary
    return out


def write_json(path, meta, runs):
    with open(path, "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)


# --- Markdown -------------------------------------------------------------------------------------

def _num(value, fmt):
    return "–" if value is None else format(value, fmt)


def _mib(kib):
    return _num(kib / 1024 if kib is not None else None, ".1f")


def _ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}x"


def _errors(m):
    parts = [f"non-2xx {m['non2xx']}"] if m.get("non2xx") else []
    parts += [f"{kind} {n}" for kind, n in m.get("socket_errors", {}).items() if n]
    return ", ".join(parts) or "0"


def _cpu(m, value):
    """CPU per request; marked ~ when the run's CPU time was under ten clock ticks (0.1 s at
    100 Hz), where /proc's resolution makes it coarse."""
    text = _num(value, ".1f")
    if value is not None and (m.get("server_cpu_s") or 0) < COARSE_CPU_S:
        text = "~" + text
    return text


def _load(share):
    if share is None:
        return "–"
    flag = " **wrk-bound**" if share >= WRK_BOUND else ""
    return f"{share * 100:.0f}%{flag}"


def _ok(m):
    return m is not None and m.get("status") == "ok"


def _not_run(m):
    if m is None:
        return "not run"
    word = "failed" if m["status"] == "failed" else "n/a"
    reason = m.get("reason", "")
    reason = reason if len(reason) <= 240 else reason[:240] + "…"  # suite.json has all of it
    return f"{word}: {reason}".replace("|", "/").replace("\n", " ")


def _table(head, servers, per_server, cells):
    """A Markdown table with one row per server: `cells(name, m)` for a server that ran, a
    "not run" row for one that did not."""
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for server in servers:
        m = per_server.get(server)
        name = f"**{server}**" if server in OUR_ROWS else server
        if not _ok(m):
            lines.append(f"| {name} | {_not_run(m)} |" + " |" * (len(head) - 2))
            continue
        lines.append("| " + " | ".join(cells(server, name, m)) + " |")
    return lines


def _ours(per_server):
    """(name, summary) of the row the ratios compare with: wsgiref-rs, or the command line where
    wsgiref-rs did not run (the TLS scenarios: only the command line serves HTTPS)."""
    for name in OUR_ROWS:
        if _ok(per_server.get(name)):
            return name, per_server[name]
    return None, None


def _scenario_table(scenario, servers, per_server):
    _, ours = _ours(per_server)
    file_unit = _plain(scenario) == "file"
    cpu_head = "CPU ms/file" if file_unit else "CPU µs/req"
    mem = _plain(scenario) in ("big", "file", "upload")
    both_head = "server+wrk CPU " + ("ms/file" if file_unit else "µs/req")
    head = ["server", "req/s", "p99 ms", cpu_head] + (["peak RSS MiB"] if mem else []) + [
        "errors", "wrk CPU", both_head, "ours/peer req/s", "ours/peer CPU"]

    def cells(server, name, m):
        cpu = m["cpu_us"] / 1000 if file_unit and m["cpu_us"] is not None else m["cpu_us"]
        row = [name, _num(m["rps"], ",.0f"), _num(m["p99_ms"], ".2f"), _cpu(m, cpu)]
        if mem:
            row.append(_num(m["hwm_kib"] / 1024 if m["hwm_kib"] else None, ".0f"))
        both = m.get("both_us")
        both = both / 1000 if file_unit and both is not None else both
        row += [_errors(m), _load(m["wrk_cpu_share"]), _num(both, ",.1f")]
        if ours is not None and server not in OUR_ROWS:
            row += [_ratio(ours["rps"], m["rps"]), _ratio(ours["cpu_us"], m["cpu_us"])]
        else:
            row += ["", ""]
        if m.get("reason"):
            row[0] += f" ({m['of'] - m['rounds']} of {m['of']} rounds failed)"
        return row

    return _table(head, servers, per_server, cells)


def _idle_table(servers, per_server):
    head = ["server", "hello req/s alone", "with 10k idle", "with/alone", "CPU µs/req alone",
            "with idle", "RSS before MiB", "RSS after MiB", "KiB per idle conn",
            "answered of 10k", "open at RSS / at end", "wrk CPU"]

    def cells(server, name, m):
        return [
            name, _num(m["rps"], ",.0f"), _num(m["rps_idle"], ",.0f"), _ratio(m["rps_idle"], m["rps"]),
            _num(m["cpu_us"], ".1f"), _num(m["cpu_us_idle"], ".1f"), _mib(m["rss_before_kib"]),
            _mib(m["rss_after_kib"]), _num(m["kib_per_conn"], ".2f"), _num(m["opened"], ",.0f"),
            f"{_num(m['open_at_rss'], ',.0f')} / {_num(m['still_open'], ',.0f')}",
            _load(max(m["wrk_cpu_share"] or 0, m["wrk_cpu_share_idle"] or 0)),
        ]

    return _table(head, servers, per_server, cells)


def _target(rows, label, value, threshold, met, unit_fmt, bound=()):
    """Appends one line of the targets table; `met` None means a figure is missing; `bound`
    names the servers whose figure here hit wrk's limit."""
    verdict = "–" if met is None else ("met" if met else "**not met**")
    if bound:
        verdict += f" (wrk-bound: {', '.join(bound)})"
    rows.append(f"| {label} | {_num(value, unit_fmt)} | {threshold} | {verdict} |")


def _get(med, scenario, server, key):
    m = med.get(scenario, {}).get(server)
    return m.get(key) if _ok(m) else None


def _wrk_bound(med, scenario, server):
    m = med.get(scenario, {}).get(server)
    return _ok(m) and max(m.get("wrk_cpu_share") or 0, m.get("wrk_cpu_share_idle") or 0) >= WRK_BOUND


def _best(med, scenario, servers, key, pick):
    found = [(_get(med, scenario, s, key), s) for s in servers]
    found = [(v, s) for v, s in found if v is not None]
    return pick(found) if found else (None, None)


def targets(med):
    """The issue's targets, each as one Markdown table row."""
    rows = ["| target | wsgiref-rs | threshold | |", "|---|---:|---|---|"]

    def compare(label, ours, other, factor, other_name, fmt, higher_is_better, scenario):
        bound = [s for s in (OURS, other_name) if _wrk_bound(med, scenario, s)]
        if ours is None or other is None:
            _target(rows, label, ours, f"{other_name}: not measured", None, fmt)
            return
        limit = other * factor
        sign = "≥" if higher_is_better else "≤"
        met = ours >= limit if higher_is_better else ours <= limit
        _target(rows, label, ours, f"{sign} {format(limit, fmt)} ({factor:g}× {other_name} "
                f"{format(other, fmt)})", met, fmt, bound)

    g = lambda sc, key, server=OURS: _get(med, sc, server, key)  # noqa: E731
    best, who = _best(med, "hello", ["bjoern", "fastwsgi"], "rps", max)
    compare("hello req/s ≥ best of bjoern, fastwsgi", g("hello", "rps"), best, 1,
            who or "bjoern, fastwsgi",
            ",.0f", True, "hello")
    compare("hello CPU µs/req ≤ 1.1× nginx", g("hello", "cpu_us"), g("hello", "cpu_us", "nginx"),
            1.1, "nginx", ".1f", False, "hello")
    compare("hello req/s ≥ 20× stdlib", g("hello", "rps"), g("hello", "rps", "stdlib"), 20,
            "stdlib", ",.0f", True, "hello")
    compare("close req/s ≥ nginx", g("close", "rps"), g("close", "rps", "nginx"), 1, "nginx",
            ",.0f", True, "close")
    compare("close CPU µs/req ≤ 1.1× nginx", g("close", "cpu_us"), g("close", "cpu_us", "nginx"),
            1.1, "nginx", ".1f", False, "close")
    compare("sleep req/s ≥ 95% of the 800 ceiling", g("sleep", "rps"), SLEEP_CEILING, 0.95,
            "ceiling", ",.0f", True, "sleep")
    for scenario in ("big", "upload"):
        best, who = _best(med, scenario, WSGI_PEERS, "cpu_us", min)
        compare(f"{scenario} CPU µs/req ≤ 0.8× best WSGI peer", g(scenario, "cpu_us"), best, 0.8,
                who or "WSGI peers", ".1f", False, scenario)
    ours_file = g("file", "cpu_us")
    nginx_file = g("file", "cpu_us", "nginx")
    compare("file CPU ms/file ≤ 1.3× nginx (sendfile)", ours_file and ours_file / 1000,
            nginx_file and nginx_file / 1000, 1.3, "nginx", ".2f", False, "file")
    kib = g("idle", "kib_per_conn")
    _target(rows, "idle: KiB of RSS per idle connection ≤ 4", kib, "≤ 4.00",
            None if kib is None else kib <= 4, ".2f")
    alone, with_idle = g("idle", "rps"), g("idle", "rps_idle")
    ratio = with_idle / alone if alone and with_idle is not None else None
    _target(rows, "idle: hello req/s with 10k idle / without", ratio, "≥ 0.90",
            None if ratio is None else ratio >= 0.9, ".2f",
            [OURS] if _wrk_bound(med, "idle", OURS) else ())
    return rows


def threaded_targets(med):
    """Issue 15's targets: the threaded engine and real applications, each as one table row."""
    rows = ["| target | wsgiref-rs | threshold | |", "|---|---:|---|---|"]
    g = lambda sc, key, server: _get(med, sc, server, key)  # noqa: E731

    def at_most(label, ours, other, factor, other_name, fmt, scenario, server, at_least=False):
        bound = [s for s in (server, other_name) if _wrk_bound(med, scenario, s)]
        if ours is None or other is None:
            _target(rows, label, ours, f"{other_name}: not measured", None, fmt)
            return
        limit = other * factor
        met = ours >= limit if at_least else ours <= limit
        sign = "≥" if at_least else "≤"
        _target(rows, label, ours, f"{sign} {format(limit, fmt)} ({factor:g}× {other_name} "
                f"{format(other, fmt)})", met, fmt, bound)

    for server in OUR_ROWS:
        who = "ThreadingMixIn" if server == OURS else "--threads 8"
        at_most(f"thello req/s ({who}) ≥ granian", g("thello", "rps", server),
                g("thello", "rps", "granian"), 1, "granian", ",.0f", "thello", server, True)
        at_most(f"thello CPU µs/req ({who}) ≤ granian", g("thello", "cpu_us", server),
                g("thello", "cpu_us", "granian"), 1, "granian", ".1f", "thello", server)
        at_most(f"thello req/s ({who}) ≥ 0.8× our single-threaded hello",
                g("thello", "rps", server), g("hello", "rps", OURS), 0.8, "hello", ",.0f",
                "thello", server, True)
        at_most(f"sleep req/s ({who}) ≥ 95% of the 800 ceiling", g("sleep", "rps", server),
                SLEEP_CEILING, 0.95, "ceiling", ",.0f", "sleep", server, True)
        at_most(f"sleep CPU µs/req ({who}) ≤ granian", g("sleep", "cpu_us", server),
                g("sleep", "cpu_us", "granian"), 1, "granian", ".1f", "sleep", server)
    for scenario in ("flask", "django", "tflask", "tdjango"):
        best, who = _best(med, scenario, APP_PEERS, "cpu_us", min)
        for server in OUR_ROWS:
            at_most(f"{scenario} CPU µs/req ({server}) ≤ best peer", g(scenario, "cpu_us", server),
                    best, 1, who or "peers", ".1f", scenario, server)
    for scenario in ("thello", "sleep", "tflask", "tdjango"):
        for server in OUR_ROWS:
            at_most(f"{scenario} p99 ms ({server}) ≤ granian", g(scenario, "p99_ms", server),
                    g(scenario, "p99_ms", "granian"), 1, "granian", ".2f", scenario, server)
    return rows


def tls_cost(med, servers, scenarios):
    """Each server's figures over TLS beside its plain ones, scenario by scenario, and what
    `wsgi.file_wrapper` costs wsgiref-rs-cli over TLS, where sendfile(2) cannot serve it."""
    lines = ["| server | scenario | req/s plain | req/s TLS | TLS/plain req/s | CPU plain | CPU TLS | "
             "TLS − plain | TLS/plain CPU | negotiated |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for scenario in [s for s in scenarios if s.startswith(TLS_PREFIX)]:
        base = _plain(scenario)
        scale, unit = (1e-3, "ms/file") if base == "file" else (1, "µs/req")
        for server in servers:
            tls, plain = med.get(scenario, {}).get(server), med.get(base, {}).get(server)
            if not _ok(tls) and (tls is None or tls["status"] == "n/a"):
                continue  # a server without TLS
            cpu = [m["cpu_us"] * scale if _ok(m) and m.get("cpu_us") is not None else None
                   for m in (plain, tls)]
            rps = [m["rps"] if _ok(m) else None for m in (plain, tls)]
            extra = cpu[1] - cpu[0] if None not in cpu else None
            lines.append(
                f"| {server} | {scenario} ({unit}) | {_num(rps[0], ',.0f')} | {_num(rps[1], ',.0f')} | "
                f"{_ratio(rps[1], rps[0])} | {_num(cpu[0], '.1f')} | {_num(cpu[1], '.1f')} | "
                f"{_num(extra, '+,.1f')} | {_ratio(cpu[1], cpu[0])} | "
                f"{tls.get('tls') or '–' if _ok(tls) else _not_run(tls)} |")
    plain_file = _get(med, "file", OURS_CLI, "cpu_us")
    tls_file = _get(med, "tls-file", OURS_CLI, "cpu_us")
    if plain_file is not None and tls_file is not None:
        extra = (tls_file - plain_file) / 1000
        lines += ["", f"`wsgi.file_wrapper` over TLS: {OURS_CLI} spends {tls_file / 1000:.1f} ms of "
                  f"CPU per 64 MiB file over TLS against {plain_file / 1000:.1f} ms with "
                  f"sendfile(2) over plain HTTP ({tls_file / plain_file:.1f}×, {extra:+.1f} ms, "
                  f"{extra / 64:.2f} ms per MiB): the price of reading the file into memory "
                  "(64 KiB preads), encrypting it in rustls and writing the records, where "
                  "sendfile lets the kernel send the page cache untouched."]
    return lines


def write_markdown(path, meta, runs, servers, scenarios, notes):
    med = medians(runs)
    v = meta["versions"]
    peers = ", ".join(f"{name} {v.get(name, '?')}" for name in
                      ["bjoern", "fastwsgi", "granian", "gunicorn", "waitress", "nginx"])
    lines = [
        "# Benchmark suite: wsgiref-rs against every peer",
        "",
        f"- machine: {meta['machine']}",
        f"- Python: {meta['python']}",
        f"- commit: {meta['commit']}",
        f"- date: {meta['date']}",
        f"- wsgiref-rs {v.get('wsgiref-rs', '?')} (release build); peers: {peers}; "
        f"wrk {meta['wrk']}; matplotlib {v.get('matplotlib', '?')}",
        f"- command: `{meta['command']}`",
        f"- load average (1, 5, 15 min; {os.cpu_count()} CPUs) at the start: "
        f"{meta.get('loadavg_start', '?')}, at the end: {meta.get('loadavg_end', '?')}",
        *([f"- TLS: {meta['openssl']} (wrk's and the suite's check's), one self-signed P-256 "
           "ECDSA certificate made for the run and served by every server"]
          if meta.get("openssl") else []),
        "",
        f"Server pinned to CPU 0, `wrk -t1` to CPU 1; {meta['warmup']} s warm-up, {meta['seconds']} s "
        f"measured, {meta['rounds']} round(s) over all servers, median"
        + (" (a **quick** run: figures are indicative only)." if meta.get("quick") else "."),
        "CPU µs/req is the server's utime+stime summed over all its processes during the measured "
        "run, divided by the requests wrk counted. \"wrk CPU\" is the share of one CPU wrk itself "
        f"used; at {WRK_BOUND:.0%} or more the figure is **wrk-bound** (the load generator's limit, "
        "not the server's). Ratios are ours/peer (ours: wsgiref-rs, or "
        "wsgiref-rs-cli where wsgiref-rs did not run, as in the TLS scenarios): above 1 for "
        "req/s and below 1 for CPU mean wsgiref-rs does better. Peak RSS is VmHWM summed over the server's processes. CPU figures "
        "marked ~ rest on fewer than ten clock ticks of CPU time (coarse). \"server+wrk CPU\" adds "
        "wrk's own CPU time to the server's, per request: on loopback the kernel's TCP work for a "
        "transfer (copies, delivery, waking the reader) is charged to whichever side runs it, and "
        "a server that keeps wrk busy pays less of it, so for big, file and upload this sum is the "
        "fair comparison of the whole work.",
        "",
    ]
    # A run of a few scenarios or servers leaves out the targets it measures nothing of.
    if any(_ok(med.get(s, {}).get(OURS)) for s in
           ("hello", "close", "sleep", "big", "upload", "file", "idle")):
        lines += ["## Targets (issue 5)", "", *targets(med), ""]
    if any(_ok(med.get(s, {}).get(server)) for s in
           ("thello", "sleep", "flask", "tflask", "django", "tdjango") for server in OUR_ROWS):
        lines += ["## Targets (issue 15: threads and real applications)", "",
                  *threaded_targets(med), ""]
    for scenario in scenarios:
        per_server = med.get(scenario, {})
        lines += [f"## {scenario}: {SCENARIO_TITLES[scenario]} ({meta['connections'][scenario]} "
                  "connections)", ""]
        if scenario == "idle":
            lines += _idle_table(servers, per_server)
        else:
            lines += _scenario_table(scenario, servers, per_server)
        if notes.get(scenario):
            lines += ["", notes[scenario]]
        if _plain(scenario) == "file":
            wrappers = [f"{server} `{m['file_wrapper']}`" for server, m in per_server.items()
                        if _ok(m) and m.get("file_wrapper")]
            if wrappers:
                lines += ["", "`wsgi.file_wrapper` per server (`none`: the app iterates the file in "
                          "64 KiB blocks): " + "; ".join(wrappers) + "."]
        sessions = [f"{server} {m['tls']}" for server, m in per_server.items()
                    if _ok(m) and m.get("tls")]
        if sessions:
            lines += ["", "Negotiated (the suite's check, Python's ssl on the OpenSSL wrk links, "
                      "offering its defaults as wrk does): " + "; ".join(sessions) + "."]
        lines.append("")
    if any(s.startswith(TLS_PREFIX) for s in scenarios):
        lines += ["## TLS: what it costs", "",
                  "Each server over HTTPS beside its own plain-HTTP figures of the same run "
                  "(CPU per request in µs; per file in ms for file).", "",
                  *tls_cost(med, servers, scenarios), ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return med


# --- Chart ----------------------------------------------------------------------------------------

def _short(value, _pos=None):
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def write_chart(path, med, servers, scenarios):
    """One column per scenario: req/s on top, CPU per request (idle: KiB per idle connection)
    below, wsgiref-rs highlighted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig, axes = plt.subplots(2, len(scenarios), figsize=(3.1 * len(scenarios), 6.5), squeeze=False)
    for col, scenario in enumerate(scenarios):
        if scenario == "idle":
            panels = [("rps_idle", "req/s with 10k idle", 1), ("kib_per_conn", "KiB / idle conn", 1)]
        elif _plain(scenario) == "file":
            panels = [("rps", "files/s", 1), ("cpu_us", "CPU ms / file", 1e-3)]
        else:
            panels = [("rps", "req/s", 1), ("cpu_us", "CPU µs / req", 1)]
        for row, (key, label, scale) in enumerate(panels):
            ax = axes[row][col]
            names, values, colors = [], [], []
            for server in servers:
                value = _get(med, scenario, server, key)
                names.append(server)
                values.append(value * scale if value else 0)
                colors.append("#d9480f" if server in OUR_ROWS else "#888888" if server == "nginx"
                              else "#4a6fa5")
            shown = [v for v in values if v > 0]
            log = bool(shown) and max(shown) / min(shown) > 30
            left = 10 ** math.floor(math.log10(min(shown))) if log else 0
            ax.barh(range(len(names)), [v - left if v else 0 for v in values], left=left,
                    color=colors)
            ax.set_yticks(range(len(names)))
            ax.set_yticklabels(names if col == 0 else [""] * len(names), fontsize=8)
            ax.invert_yaxis()
            if log:
                ax.set_xscale("log")
                ax.set_xlim(left, max(shown) * 4)
            elif shown:
                ax.set_xlim(0, max(shown) * 1.35)
                ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.xaxis.set_major_formatter(FuncFormatter(_short))
            for i, value in enumerate(values):
                text = f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value else "n/a"
                ax.text(value if value else 0.02, i, " " + text, va="center", fontsize=7,
                        transform=ax.transData if value else ax.get_yaxis_transform())
            ax.set_xlabel(label, fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
            if row == 0:
                ax.set_title(scenario, fontsize=10)
    fig.suptitle("wsgiref-rs (orange) against its peers, nginx in grey\n"
                 "(log scale where the figures span more than 30x)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
