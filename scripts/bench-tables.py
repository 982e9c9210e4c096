#!/usr/bin/env python3
"""Builds the tables of BENCHMARKS.md from a bench run.

Reads criterion's results (target/criterion/**/new/benchmark.json and estimates.json, the
groups `vs_*` and `e2e_*` written by `cargo bench -p breaker-bench`) and the allocation counts
(target/breaker-bench/alloc.json, written by the `alloc` bench), and prints the tables as
Markdown. With --write FILE, replaces the part of FILE between the markers
`<!-- tables:begin -->` and `<!-- tables:end -->` (the comparison) and, if FILE has them, between
`<!-- integrations:begin -->` and `<!-- integrations:end -->` (the integrations) instead.
`--section comparison` or `--section integrations` prints or writes one part only, for a run of
one bench binary (`integrations` is `cargo bench -p breaker-bench --bench integrations`).
Standard library only.

Every time is criterion's median estimate. A ratio is ours divided by the best (lowest) peer of
the same row, in the same run; for the integrations, ours divided by tower-resilience's layer.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["ours", "recloser", "failsafe", "breaker_2_0_2", "tower_resilience"]
PEERS = CRATES[1:]
HEADERS = {
    "ours": "breaker (ours)",
    "recloser": "recloser 1.4",
    "failsafe": "failsafe 1.3",
    "breaker_2_0_2": "breaker 2.0.2",
    "tower_resilience": "tower-resilience 0.14",
}
# The groups of the `integrations` bench.
INTEGRATION_GROUPS = ("vs_tower_", "vs_registry_", "vs_middleware_", "e2e_middleware")
MARKERS = {
    "comparison": ("<!-- tables:begin -->", "<!-- tables:end -->"),
    "integrations": ("<!-- integrations:begin -->", "<!-- integrations:end -->"),
}


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def load_criterion(criterion_dir):
    """{(group, function, value): median ns} for the groups this comparison writes."""
    results = {}
    for bench in criterion_dir.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        group = meta.get("group_id", "")
        if not group.startswith(("vs_", "e2e_")):
            continue
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        key = (group, meta.get("function_id") or "", meta.get("value_str") or "")
        results[key] = estimates["median"]["point_estimate"]
    return results


def load_json(name):
    """A file the benches write to target/breaker-bench, or None."""
    path = target_dir() / "breaker-bench" / name
    return json.loads(path.read_text()) if path.exists() else None


def ns(value):
    if value is None:
        return "–"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f} ms"
    if value >= 1_000:
        return f"{value / 1_000:.2f} µs"
    if value >= 100:
        return f"{value:.0f} ns"
    return f"{value:.1f} ns"


def ratio(value):
    return "–" if value is None else f"{value:.2f}"


def best_peer(row):
    peers = [(row[c], c) for c in PEERS if row.get(c) is not None]
    return min(peers) if peers else (None, None)


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(out)


def machine():
    def run(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return ""

    model = ""
    for line in run("lscpu").splitlines():
        if line.lower().startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    cores = run("nproc").strip() or str(os.cpu_count())
    rustc = run("rustc", "--version").strip()
    return [
        f"- `nproc`: {cores}",
        f"- `lscpu` model name: {model or 'unknown'}",
        f"- `rustc --version`: {rustc or 'unknown'}",
        f"- OS: {platform.system()} {platform.release()}",
    ]


def per_call_section(r, verdicts):
    rows_spec = [
        ("closed success, async (`call` on a ready future)", "vs_closed_async", "closed", 0.10),
        ("closed success, async (`call` on a fresh async block, `now_or_never`)",
         "vs_closed_now_or_never", "closed", 0.10),
        ("closed success, sync (ours: the permit API)", "vs_closed_sync", "closed", 0.10),
        ("open rejection, async", "vs_open_async", "open", 0.60),
        ("open rejection, async (a fresh async block, `now_or_never`)", "vs_open_now_or_never",
         "open", 0.60),
        ("open rejection, sync", "vs_open_sync", "open", 0.60),
        ("a failure recorded, async (T = 3)", "vs_failure", None, None),
        ("a failure recorded, sync (T = 3)", "vs_failure_sync", None, None),
        ("two threads, one breaker: closed success, async", "vs_two_threads_async", "two", 0.05),
        ("two threads, one breaker: closed success, sync", "vs_two_threads_sync", "two", 0.05),
    ]
    times, ratios = [], []
    for label, group, target_key, target in rows_spec:
        value = "3" if group == "vs_failure" else ""
        row = {c: r.get((group, c, value)) for c in CRATES}
        best, best_name = best_peer(row)
        times.append([label] + [ns(row[c]) for c in CRATES])
        cells = [ratio(row[c] / best) if row[c] is not None and best else "–" for c in CRATES]
        ours_ratio = row["ours"] / best if row["ours"] is not None and best else None
        if target is not None:
            met = ours_ratio is not None and ours_ratio <= target
            shown = "–" if ours_ratio is None else f"{ours_ratio:.3f}"
            verdicts.append((label, f"≤ {target:.2f} of the best peer", shown,
                             "met" if met else "**not met**"))
        ratios.append([label] + cells + [HEADERS.get(best_name, "–")])
    # Ours against ours: `call` through `now_or_never` against the permit, and a rejection
    # through the permit against one read of the default clock.
    for label, (group, function), (base_group, base_function), limit in [
        ("closed success: `call` through `now_or_never` − the permit",
         ("vs_closed_now_or_never", "ours"), ("vs_closed_sync", "ours"), 1.0),
        ("open rejection: the permit − one read of the default clock",
         ("vs_open_sync", "ours"), ("vs_reference", "monotonic_clock_dyn"), 5.0),
    ]:
        value, base = r.get((group, function, "")), r.get((base_group, base_function, ""))
        gap = value - base if value is not None and base is not None else None
        verdicts.append((label, f"≤ {ns(limit)}", "–" if gap is None else signed_ns(gap),
                         verdict(gap is not None and gap <= limit)))
    header = ["per call"] + [HEADERS[c] for c in CRATES]
    return "\n\n".join([
        "### Per call (median time)",
        table(header, times),
        "### Per call, as a ratio to the best peer of the row (lower is better; "
        "the best peer is 1.00)",
        table(["per call"] + [HEADERS[c] for c in CRATES] + ["best peer"], ratios),
    ])


def poller_section(r, verdicts):
    """Ours `call` against a bare async block and the permit, under each poller."""
    permit = r.get(("vs_poller", "permit", ""))
    rows = []
    for label, poller in [
        ("inlined into the loop (`run_ready`)", "inlined"),
        ("compiled apart, never inlined (`run_ready_out_of_line`)", "out_of_line"),
        ("`futures::FutureExt::now_or_never`, inlined or not as this build chose", "now_or_never"),
    ]:
        bare = r.get(("vs_poller", f"{poller}/async_block", ""))
        call = r.get(("vs_poller", f"{poller}/call", ""))
        over_bare = call - bare if call is not None and bare is not None else None
        over_permit = call - permit if call is not None and permit is not None else None
        floor = bare - permit if bare is not None and permit is not None else None
        rows.append([label, ns(bare), ns(call),
                     "–" if over_bare is None else signed_ns(over_bare),
                     "–" if over_permit is None else signed_ns(over_permit),
                     "–" if floor is None else signed_ns(floor)])
        if poller != "now_or_never":
            verdicts.append((f"closed success: `call` − the permit, poller {label}", "≤ 1.0 ns",
                             "–" if over_permit is None else signed_ns(over_permit),
                             verdict(over_permit is not None and over_permit <= 1.0)))
    return "\n\n".join([
        "### What polling costs: ours `call` and a bare async block under each poller (median)",
        f"The permit path (sync), in the same group: {ns(permit)}. The bare block is a fresh "
        "`async` block returning the outcome, with no breaker: no future polled through the "
        "same poller costs less, so its distance from the permit is the poller's own floor.",
        table(["poller", "bare async block", "`call` on it", "`call` − bare block",
               "`call` − the permit", "bare block − the permit"], rows),
    ])


def failure_section(r, verdicts):
    rows = []
    for t in ["3", "100", "10000"]:
        row = {c: r.get(("vs_failure", c, t)) for c in CRATES}
        if t != "3":
            ours = row["ours"]
            t_label = f"{int(t):,}".replace(",", " ")
            verdicts.append((f"a failure recorded, async, T = {t_label}",
                             "≤ 30 ns", ns(ours), verdict(ours is not None and ours <= 30)))
        best, name = best_peer(row)
        rows.append([f"T = {int(t):,}".replace(",", " ")] + [ns(row[c]) for c in CRATES]
                    + [ratio(row["ours"] / best) if row["ours"] and best else "–"])
    return "\n\n".join([
        "### The cost of recording a failure as T grows (async path, median)",
        table(["T"] + [HEADERS[c] for c in CRATES] + ["ours / best peer"], rows),
    ])


def growth_section(r):
    sim = {}
    real = {}
    for (group, function, value), v in r.items():
        if group != "vs_success_growth":
            continue
        if function == "tower_resilience":
            real[value] = v
        else:
            sim.setdefault(value, {})[function] = v

    def key(value):
        w, rate = value.split(" ")
        w = w.split("=")[1]
        seconds = float(w[:-2]) / 1000 if w.endswith("ms") else float(w[:-1])
        rate = rate.split("=")[1].removesuffix("/s")
        scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(rate[-1:], None)
        per_second = float(rate[:-1]) * scale if scale else float(rate) if rate.isdigit() else 0
        return (seconds, per_second)

    rows = [[value.replace(" ", ", "), ns(cells.get("ours")), ns(cells.get("failsafe"))]
            for value, cells in sorted(sim.items(), key=lambda kv: key(kv[0]))]
    spread = [cells["ours"] for cells in sim.values() if "ours" in cells]
    flat = ""
    if spread:
        flat = (f"Ours: from {ns(min(spread))} to {ns(max(spread))} across the grid "
                f"(max / min = {max(spread) / min(spread):.2f}).")
    rows_real = [[value.replace(" ", ", "), ns(v)] for value, v in
                 sorted(real.items(), key=lambda kv: key(kv[0]))]
    return "\n\n".join([
        "### The cost of a success as the request rate and W grow (median)",
        "Simulated time: each call moves the breaker's clock on by one request interval "
        "(1/rate), so both columns include one clock step; ours has T = 100 with T/2 failures "
        "spread over the window beforehand, failsafe is its success-rate-over-W policy on its "
        "test clock.",
        table(["W, request rate", HEADERS["ours"], HEADERS["failsafe"] + " (time window)"], rows),
        flat,
        "tower-resilience's time-based window, in real time (the rate is the bench loop's "
        "own): it keeps one record per call in the window and scans them on every call.",
        table(["W, request rate", HEADERS["tower_resilience"] + " (time-based window)"],
              rows_real),
    ])


def reference_section(r):
    rows = [[name, ns(r.get(("vs_reference", name, "")))]
            for name in ["instant_now", "monotonic_clock_dyn", "stepping_clock_dyn"]]
    return "\n\n".join([
        "### Reference: a clock read on this machine (median)",
        table(["read", "time"], rows),
    ])


def alloc_sections(alloc, verdicts):
    if alloc is None:
        return "_No allocation counts: run `cargo bench -p breaker-bench --bench alloc`._"
    paths = ["closed_async", "closed_now_or_never", "closed_sync", "open_async",
             "open_now_or_never", "open_sync", "failure_async", "failure_sync"]
    by = {(a["path"], a["crate"]): a for a in alloc["allocations"]}
    rows = []
    ours_zero = True
    for p in paths:
        cells = []
        for c in CRATES:
            a = by.get((p, c))
            if a is None:
                cells.append("–")
                continue
            cells.append(f"{a['allocations']:.2f} ({a['bytes']:.0f} B)")
            if c == "ours" and a["allocations"] != 0:
                ours_zero = False
        rows.append([p.replace("_", ", ", 1)] + cells)
    verdicts.append(("allocations per call, every path", "zero",
                     "0" if ours_zero else "> 0", "met" if ours_zero else "**not met**"))

    mem = {(m["crate"], m["threshold"]): m for m in alloc["memory"]}
    mem_rows = []
    for t in sorted({m["threshold"] for m in alloc["memory"]}):
        cells, totals = [], {}
        for c in CRATES:
            m = mem.get((c, t))
            if m is None:
                cells.append("–")
                continue
            total = m["size_of"] + m["heap"]
            totals[c] = total
            cells.append(f"{total} ({m['size_of']} + {m['heap']})")
        smallest = min((totals[c], c) for c in PEERS if c in totals)
        ours_total = totals.get("ours")
        mem_rows.append([f"T = {t:,}".replace(",", " ")] + cells
                        + [ratio(ours_total / smallest[0]) if ours_total else "–"])
        if t == 3 and ours_total is not None:
            met = ours_total <= smallest[0]
            verdicts.append(("memory per breaker at T = 3",
                             f"≤ the smallest peer ({HEADERS[smallest[1]]}, {smallest[0]} B)",
                             f"{ours_total} B", "met" if met else "**not met**"))
    return "\n\n".join([
        "### Allocations per call (allocations, and bytes allocated, per call)",
        table(["path"] + [HEADERS[c] for c in CRATES], rows),
        "### Memory per breaker: bytes, as total (`size_of` + heap held after construction)",
        table(["T"] + [HEADERS[c] for c in CRATES] + ["ours / smallest peer"], mem_rows),
        f"`CircuitBreaker::memory_footprint()` reports {alloc.get('ours_memory_footprint')} B "
        "at T = 3.",
    ])


def e2e_section(r):
    lat = {name: r.get(("e2e_latency", name, "")) for name in
           ["forwarded", "rejected", "bare_reqwest", "runtime_block_on"]}
    thr = {name: r.get(("e2e_throughput", name, "")) for name in
           ["bare_reqwest", "breaker_client"]}
    rows = [
        ["forwarded through `BreakerClient` (circuit closed)", ns(lat["forwarded"])],
        ["rejected by `BreakerClient` (circuit open)", ns(lat["rejected"])],
        ["bare reqwest, for reference", ns(lat["bare_reqwest"])],
        ["entering the runtime alone (`block_on` of an empty future)",
         ns(lat["runtime_block_on"])],
    ]
    if lat["forwarded"] and lat["rejected"]:
        share = lat["rejected"] / lat["forwarded"]
        rows.append(["rejected / forwarded", f"{share:.4f} (1/{1 / share:,.0f})".replace(",", " ")])

    def rps(v):
        return "–" if not v else f"{1e9 / v:,.0f} req/s".replace(",", " ")

    trows = [["bare reqwest", ns(thr["bare_reqwest"]), rps(thr["bare_reqwest"])],
             ["`BreakerClient` around the same reqwest client", ns(thr["breaker_client"]),
              rps(thr["breaker_client"])]]
    if thr["bare_reqwest"] and thr["breaker_client"]:
        trows.append(["breaker / bare (throughput)", "",
                      ratio(thr["bare_reqwest"] / thr["breaker_client"])])
    return "\n\n".join([
        "### End to end: one `GET /health` to sum-service on 127.0.0.1 (median latency)",
        table(["call", "time"], rows),
        "### End to end: throughput, 4 requests in flight, one client thread",
        table(["client", "time per request", "throughput"], trows),
    ])


def verdict(met):
    return "met" if met else "**not met**"


def share(part, whole):
    """`part / whole` as a percentage, and as one in N when positive."""
    fraction = part / whole
    if fraction <= 0:
        return f"−{-fraction * 100:.2f} % (below this run's noise: none measurable)"
    return f"{fraction * 100:.2f} % (1/{1 / fraction:,.0f})".replace(",", " ")


def percent(fraction):
    return f"{fraction * 100:+.2f} %".replace("-", "−")


def signed_ns(value):
    return ns(value) if value >= 0 else f"−{ns(-value)}"


def integrations_sections(r, paired):
    verdicts = []

    def rounds(group):
        n = (paired or {}).get(group, {}).get("rounds")
        return "no" if n is None else f"{n:,}".replace(",", " ")

    tower_rows = []
    for label, group, target in [("closed success", "vs_tower_closed", 0.10),
                                 ("open rejection", "vs_tower_open", 0.25)]:
        ours = r.get((group, "ours", ""))
        theirs = r.get((group, "tower_resilience", ""))
        bare = r.get((group, "service_fn", ""))
        rel = ours / theirs if ours is not None and theirs else None
        tower_rows.append([label, ns(ours), ns(theirs), ns(bare),
                           ns(ours - bare) if ours is not None and bare is not None else "–",
                           "–" if rel is None else f"{rel:.3f}"])
        verdicts.append((f"tower layer, {label}", f"≤ {target:.2f} of tower-resilience 0.14",
                         "–" if rel is None else f"{rel:.3f} ({ns(ours)} against {ns(theirs)})",
                         verdict(rel is not None and rel <= target)))

    registry_rows = []
    for label, group, function in [
        ("one thread", "vs_registry_get", "ours"),
        ("two threads, one registry, the same key", "vs_registry_get_two_threads", "same_key"),
        ("two threads, one registry, a key each", "vs_registry_get_two_threads", "own_key"),
    ]:
        value = r.get((group, function, ""))
        registry_rows.append([label, ns(value)])
        verdicts.append((f"`Registry<String>::get`, known key, {label}", "≤ 20 ns",
                         ns(value), verdict(value is not None and value <= 20)))
    for label, group, function in [
        ("for reference: hashing the key alone (foldhash, the registry's hasher), one thread",
         "vs_registry_get", "hash_key"),
        ("for reference: the map's read guard alone (papaya), one thread", "vs_registry_get",
         "map_guard"),
        ("for reference: the same lookup on the bare map (papaya, foldhash: guard, hash, probe, "
         "key comparison, the handle cloned and dropped), one thread", "vs_registry_get",
         "map_get"),
        ("for reference: cloning and dropping a breaker handle, one thread", "vs_registry_get",
         "clone_handle"),
        ("for reference: cloning and dropping one breaker handle, two threads",
         "vs_registry_get_two_threads", "clone_handle"),
        ("for reference: the lookup on the bare map, two threads, a key each",
         "vs_registry_get_two_threads", "map_get_own_key"),
    ]:
        registry_rows.append([label, ns(r.get((group, function, "")))])

    def rows(group, labels, reference):
        """Criterion's median and the interleaved rounds' median of each call, then each
        difference to `reference`: criterion's (the rows measured apart) and the interleaved
        rounds' (the median of the differences within a round)."""
        part = paired.get(group, {})
        medians, differences = part.get("median_ns", {}), part.get("difference_ns", {})
        crit = {name: r.get((group, name, "")) for name, _ in labels}
        out = [[label, ns(crit[name]), ns(medians.get(name))] for name, label in labels
               if crit[name] is not None or name in medians]
        return out, crit, medians, differences

    paired = paired or {}
    mw_labels = [
        ("breaker_middleware",
         "`ClientWithMiddleware` with `CircuitBreakerMiddleware` (circuit closed)"),
        ("no_middleware", "`ClientWithMiddleware` with no middleware"),
        ("bare_reqwest", "bare reqwest, for reference"),
        ("pass_on_middleware", "`ClientWithMiddleware` with a middleware that only passes the "
         "request on"),
        ("no_middleware_again", "a second `ClientWithMiddleware` with no middleware"),
    ]
    mw_rows, crit, medians, differences = rows("e2e_middleware", mw_labels, "no_middleware")
    request = medians.get("no_middleware") or crit.get("no_middleware")

    def difference_row(label, name, reference, crit, differences, base):
        apart = "–"
        if crit.get(name) is not None and crit.get(reference):
            d = crit[name] - crit[reference]
            apart = f"{signed_ns(d)} ({percent(d / crit[reference])})"
        d = differences.get(name)
        within = "–" if d is None else signed_ns(d)
        if d is not None and base:
            within += f" ({percent(d / base)})"
        return [label, apart, within]

    mw_rows += [
        difference_row("added by `CircuitBreakerMiddleware` (with − without)",
                       "breaker_middleware", "no_middleware", crit, differences, request),
        difference_row("added by a middleware that only passes the request on",
                       "pass_on_middleware", "no_middleware", crit, differences, request),
        difference_row("the method's own error (second client − first, both without middleware)",
                       "no_middleware_again", "no_middleware", crit, differences, request),
    ]
    added = differences.get("breaker_middleware")
    if added is not None and request:
        verdicts.append(("reqwest middleware: added time on a loopback request",
                         "≤ 1 % of the request", share(added, request),
                         verdict(added <= 0.01 * request)))

    stub_labels = [
        ("breaker_middleware", "with `CircuitBreakerMiddleware`"),
        ("pass_on_middleware",
         "with a middleware that only passes the request on (`next.run(request, extensions)`)"),
        ("no_middleware", "the stub alone"),
        ("no_middleware_again", "a second chain of the stub alone"),
    ]
    stub_rows, scrit, smedians, sdifferences = rows("vs_middleware_no_network", stub_labels,
                                                    "no_middleware")
    stub_rows += [
        difference_row("added by `CircuitBreakerMiddleware` (with − stub alone)",
                       "breaker_middleware", "no_middleware", scrit, sdifferences, None),
        difference_row("added by a middleware that only passes the request on",
                       "pass_on_middleware", "no_middleware", scrit, sdifferences, None),
        difference_row("the method's own error (second chain − first)",
                       "no_middleware_again", "no_middleware", scrit, sdifferences, None),
    ]
    own = sdifferences.get("breaker_middleware")
    if own is not None and request:
        verdicts.append(("reqwest middleware: its own time, without the network",
                         "≤ 1 % of the loopback request", share(own, request),
                         verdict(own <= 0.01 * request)))

    return "\n\n".join([
        "### The integrations' targets, on this run",
        table(["measure", "target", "ours", "verdict"], verdicts),
        "### The tower layer, per call (median; `poll_ready`, `call` and one poll of the "
        "response, around the same always-ready `tower::service_fn`)",
        table(["per call", "`breaker::tower::CircuitBreakerLayer` (ours)",
               "tower-resilience 0.14", "bare `service_fn`", "ours − bare", "ours / theirs"],
              tower_rows),
        "### `Registry<String>::get` on a key it holds (median per lookup, 64 keys held, "
        "the breaker returned and dropped)",
        table(["lookup", "time"], registry_rows),
        "### reqwest-middleware: one `GET /health` to sum-service on 127.0.0.1 (median latency)",
        "Criterion measures each client on its own, for seconds, and a difference between two "
        "of its rows is also a difference between the machine's load in those seconds. The "
        "interleaved rounds (one request by each client a round, the order rotating, "
        f"{rounds('e2e_middleware')} rounds) meet every client with the same load; a difference "
        "there is the median of the differences within a round, and the second client without "
        "middleware shows the method's own error.",
        table(["client", "criterion", "interleaved rounds"], mw_rows),
        "The same chains ended by a stub middleware that answers `200 OK` at once, without "
        "the network (median per request, its future polled once; "
        f"{rounds('vs_middleware_no_network')} interleaved rounds):",
        table(["chain", "criterion", "interleaved rounds"], stub_rows),
    ])


RULE_SUBJECTS = [
    ("ours_count", "breaker (ours): the count rule (T = 3)"),
    ("ours_failure_rate", "breaker (ours): failure rate 0.5 over >= 100 calls"),
    ("ours_consecutive", "breaker (ours): 4 consecutive failures"),
    ("ours_slow_call", "breaker (ours): count rule + slow calls over 1 s"),
    ("recloser_error_rate", "recloser 1.4: error rate 0.5 over the last 100 calls"),
    ("failsafe_success_rate", "failsafe 1.3: success rate over W, >= 100 calls"),
]


def rules_section(r):
    """A closed success under each trip rule, one thread and two sharing one breaker."""
    rows = []
    for key, name in RULE_SUBJECTS:
        one = r.get(("vs_rules_success", key, ""))
        two = r.get(("vs_rules_success_two_threads", key, ""))
        growth = f"{two / one:.2f}" if one and two else "–"
        rows.append([name, ns(one), ns(two), growth])
    return "\n\n".join([
        "### A closed success under each trip rule (sync: ours through the permit API, median)",
        "The failure-rate rule counts successes, so a success writes shared memory: striped "
        "counters, one stripe per thread. Two threads: each makes the same number of calls on "
        "one shared breaker; the time is the slower thread's per call.",
        table(["rule", "one thread", "two threads, one breaker", "two / one"], rows),
    ])


def render(section, alone=False):
    """The tables of one part; `alone` when that part was asked for by itself."""
    r = load_criterion(target_dir() / "criterion")
    if section == "integrations":
        if not any(group.startswith(INTEGRATION_GROUPS) for group, _, _ in r):
            missing = "no results: run `cargo bench -p breaker-bench --bench integrations` first"
            if alone:
                sys.exit(missing)
            return f"_{missing[0].upper()}{missing[1:]}._\n"
        return "\n\n".join([
            "Machine: " + "; ".join(line.removeprefix("- ") for line in machine()) + ".",
            integrations_sections(r, load_json("middleware.json")),
        ]) + "\n"
    alloc = load_json("alloc.json")
    if not r and alloc is None:
        sys.exit("no results: run `make bench` (or `cargo bench -p breaker-bench`) first")
    verdicts = []
    sections = [
        "### The machine",
        "\n".join(machine()),
        per_call_section(r, verdicts),
        poller_section(r, verdicts),
        rules_section(r),
        failure_section(r, verdicts),
        growth_section(r),
        alloc_sections(alloc, verdicts),
        reference_section(r),
        e2e_section(r),
    ]
    targets = "\n\n".join([
        "### The targets, on this run",
        table(["measure", "target", "ours", "verdict"], verdicts),
    ])
    sections.insert(2, targets)
    return "\n\n".join(sections) + "\n"


def write(path, section, tables):
    begin, end = MARKERS[section]
    text = path.read_text()
    if begin not in text or end not in text:
        return False
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{tables}{end}{tail}")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE",
                        help="replace the text between each part's markers in FILE")
    parser.add_argument("--section", choices=sorted(MARKERS),
                        help="only this part (default: both)")
    args = parser.parse_args()
    sections = [args.section] if args.section else ["comparison", "integrations"]
    if not args.write:
        sys.stdout.write("\n".join(render(section, args.section is not None)
                                   for section in sections))
        return
    path = Path(args.write)
    for section in sections:
        begin, end = MARKERS[section]
        if args.section is None and section == "integrations" and begin not in path.read_text():
            continue
        if not write(path, section, render(section, args.section is not None)):
            sys.exit(f"{path}: the markers {begin} and {end} are missing")
        print(f"{section} tables written to {path}")


if __name__ == "__main__":
    main()
