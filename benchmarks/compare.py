#!/usr/bin/env python3
"""Turn the raw key=value lines written by compare.sh into a goro / Go / Boost.Fiber table.

Usage: compare.py RAW_FILE

RAW_FILE holds lines like
    impl=goro workload=pingpong procs=1 n=1000000 wall_ms=... ns_per_op=... rep=1
    impl=go   workload=pingpong procs=1 n=1000000 wall_ms=... ns_per_op=... rep=1
    impl=goro workload=skynet procs=2 chan=unbuf status=FAILED rc=124 rep=2   (a failed run)
Runs are grouped by workload + configuration keys (impl, metrics, `stack` and `rep` are
not part of the configuration). For each group the table shows the median (min-max) of
the workload's primary metric for goro, Go and Boost.Fiber (impl=fiber), and the ratios of
the medians goro/Go and goro/Boost (every primary metric is lower-is-better, so < 1 means
goro is faster/smaller). Columns of an implementation with no runs are left out.
"""
import statistics
import sys

CONFIG_KEYS = ["procs", "chan", "size", "p", "c", "cap", "n"]
PRIMARY = {  # workload -> (metric, unit)
    "skynet": ("wall_ms", "ms wall"),
    "spawn": ("ns_per_op", "ns/task"),
    "pingpong": ("ns_per_op", "ns/round trip"),
    "buffered": ("ns_per_op", "ns/item"),
    "select": ("ns_per_op", "ns/select"),
    "parked": ("bytes_per_task", "bytes/parked task"),
}
SECONDARY = {"skynet": "peak_rss_mb", "spawn": "peak_rss_mb"}
IMPLS = ["goro", "go", "fiber"]
NAMES = {"go": "Go", "fiber": "Boost.Fiber"}


def parse(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(runs, metric):
    """'median (min–max)' of metric over the successful runs, plus a note on failures."""
    vals = [num(r.get(metric)) for r in runs if r.get("status") != "FAILED"]
    vals = [v for v in vals if v is not None]
    failed = sum(1 for r in runs if r.get("status") == "FAILED")
    if not vals:
        return (f"FAILED ({failed}/{len(runs)})" if failed else "-"), None
    med = statistics.median(vals)
    text = fmt(med) if len(vals) == 1 or min(vals) == max(vals) else f"{fmt(med)} ({fmt(min(vals))}–{fmt(max(vals))})"
    if failed:
        text += f" + {failed} FAILED"
    return text, med


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    groups, order = {}, []
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.startswith("impl="):
                continue
            d = parse(line)
            key = (d.get("workload", "?"), tuple((k, d[k]) for k in CONFIG_KEYS if k in d))
            if key not in groups:
                groups[key] = {impl: [] for impl in IMPLS}
                order.append(key)
            groups[key].setdefault(d.get("impl", "?"), []).append(d)

    peers = [impl for impl in IMPLS[1:] if any(groups[k][impl] for k in order)]
    head = ["workload", "config", "unit", "goro median (min–max)"]
    for impl in peers:
        head += [f"{NAMES[impl]} median (min–max)", f"goro/{NAMES[impl].split('.')[0]}"]
    head.append("notes")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---", "---", "---"] + ["---:"] * (len(head) - 4) + ["---"]) + "|")
    for key in order:
        workload, cfg = key
        metric, unit = PRIMARY.get(workload, ("ns_per_op", "ns/op"))
        g = groups[key]
        goro_text, goro_med = cell(g["goro"], metric)
        row = [workload, " ".join(f"{k}={v}" for k, v in cfg), unit, goro_text]
        for impl in peers:
            text, med = cell(g[impl], metric)
            ratio = f"{goro_med / med:.2f}x" if goro_med is not None and med else "-"
            row += [text, ratio]
        notes = []
        sec = SECONDARY.get(workload)
        if sec:
            parts = []
            for impl in ["goro"] + peers:
                if g[impl]:
                    _, med = cell(g[impl], sec)
                    parts.append(f"{NAMES.get(impl, impl)} {fmt(med)}")
            notes.append(f"peak RSS MB: {', '.join(parts)}")
        row.append("; ".join(notes))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
