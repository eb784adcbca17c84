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

A second table, "by mode", splits each implementation's runs of a config into the VM's two
modes (a process runs now in a fast, now in a slow mode: pingpong ~104 or ~140 ns): sorted,
the runs are cut at their widest relative gap when it is at least MODE_GAP (environment,
default 1.12, i.e. 12%); below it they are one cluster, one mode. Each cell is a cluster's
median and run count; goro/peer ratios pair the fast clusters and the slow clusters. An
implementation seen in one mode only has its one cluster paired with both of the other's
(marked "one mode" in the notes), since nothing tells which mode it was in.

A third table shows CPU time per op: the process's user+sys time (cpu_ms, which compare.sh
adds to each line) over n, start-up and exit included. On a loaded machine wall time also
counts the time a runnable thread waits for a CPU; CPU time does not.
"""
import os
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


MODE_GAP = float(os.environ.get("MODE_GAP", "1.12"))


def values(runs, metric):
    vals = [num(r.get(metric)) for r in runs if r.get("status") != "FAILED"]
    return sorted(v for v in vals if v is not None)


def modes(vals):
    """(fast, slow) clusters of sorted vals; (vals, None) when they form one cluster."""
    if len(vals) < 2:
        return vals, None
    ratios = [(vals[i + 1] / vals[i] if vals[i] > 0 else 1.0, i) for i in range(len(vals) - 1)]
    gap, cut = max(ratios)
    if gap < MODE_GAP:
        return vals, None
    return vals[: cut + 1], vals[cut + 1 :]


def print_head(head):
    """A table's header row and its alignment row: three text columns, numbers, notes."""
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---", "---", "---"] + ["---:"] * (len(head) - 4) + ["---"]) + "|")


def mode_cell(cluster):
    return "-" if not cluster else f"{fmt(statistics.median(cluster))} ×{len(cluster)}"


def mode_table(groups, order, peers):
    head = ["workload", "config", "unit", "goro fast", "goro slow"]
    for impl in peers:
        short = NAMES[impl].split(".")[0]
        head += [f"{NAMES[impl]} fast", f"{NAMES[impl]} slow", f"goro/{short} fast", f"goro/{short} slow"]
    head.append("notes")
    print(f"By mode (runs cut at their widest gap when it is >= {MODE_GAP:g}x; median ×runs):")
    print()
    print_head(head)
    for key in order:
        workload, cfg = key
        metric, unit = PRIMARY.get(workload, ("ns_per_op", "ns/op"))
        g = groups[key]
        clusters = {impl: modes(values(g[impl], metric)) for impl in ["goro"] + peers}
        one_mode = [NAMES.get(i, i) for i, (fast, slow) in clusters.items() if fast and slow is None]

        def both(impl):  # (fast, slow) medians; a one-cluster impl's median stands for both
            fast, slow = clusters[impl]
            f = statistics.median(fast) if fast else None
            return f, (statistics.median(slow) if slow else f)

        gf, gs = both("goro")
        fast, slow = clusters["goro"]
        row = [workload, " ".join(f"{k}={v}" for k, v in cfg), unit, mode_cell(fast),
               mode_cell(slow) if slow is not None else ("=" if fast else "-")]
        for impl in peers:
            pf, ps = both(impl)
            fast, slow = clusters[impl]
            row += [mode_cell(fast), mode_cell(slow) if slow is not None else ("=" if fast else "-")]
            row += [f"{gf / pf:.2f}x" if gf and pf else "-", f"{gs / ps:.2f}x" if gs and ps else "-"]
        row.append(f"one mode: {', '.join(one_mode)}" if one_mode else "")
        print("| " + " | ".join(row) + " |")


def cpu_table(groups, order, peers):
    print("CPU time per op (user+sys of the whole process over n, start-up and exit included; "
          "median (min–max)):")
    print()
    head = ["workload", "config", "goro ns/op"]
    for impl in peers:
        head += [f"{NAMES[impl]} ns/op", f"goro/{NAMES[impl].split('.')[0]}"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
    for key in order:
        workload, cfg = key
        n = num(dict(cfg).get("n"))
        if not n or workload == "parked":
            continue
        g = groups[key]

        def per_op(runs):
            out = []
            for r in runs:
                c = num(r.get("cpu_ms"))
                if r.get("status") != "FAILED" and c is not None:
                    out.append({"cpu_ns_per_op": c * 1e6 / n})
            return out

        goro_text, goro_med = cell(per_op(g["goro"]), "cpu_ns_per_op")
        if goro_med is None:
            continue
        row = [workload, " ".join(f"{k}={v}" for k, v in cfg), goro_text]
        for impl in peers:
            text, med = cell(per_op(g[impl]), "cpu_ns_per_op")
            row += [text, f"{goro_med / med:.2f}x" if med else "-"]
        print("| " + " | ".join(row) + " |")


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
    print_head(head)
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
    print()
    mode_table(groups, order, peers)
    if any(r.get("cpu_ms") for k in order for runs in groups[k].values() for r in runs):
        print()
        cpu_table(groups, order, peers)


if __name__ == "__main__":
    main()
