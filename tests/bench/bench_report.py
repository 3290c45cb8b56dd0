"""The bench's one table (medians, ratios, targets) and its JSON twin."""
import json
import os
import statistics
import time
from typing import NamedTuple, Optional

MB = 1000 * 1000
MIB = 1024 * 1024
#: Peak resident memory allowed to our process in any case moving the big file.
RSS_LIMIT_MIB = 150


class Measure(NamedTuple):
    seconds: float
    error: str
    rss_kib: Optional[int]


class Case(NamedTuple):
    key: str
    label: str
    role: str            # anchor / ours / peer / ref
    run: object          # run(round) -> Measure


class Group(NamedTuple):
    key: str
    title: str
    unit: str            # MB/s, files/s, rows/s, or s (a time: lower is better)
    amount: float        # bytes, files or rows moved by each case (unit s: unused)
    cases: list
    big: bool = False    # moves the big file: its peak RSS is checked
    setup: object = None  # called once before the first round
    link: Optional[float] = None  # bytes/s of an emulated link: rows show their share


class Target(NamedTuple):
    key: str             # our case
    versus: str          # the case it is measured against
    goal: float
    text: str


def median_seconds(measures):
    good = [m.seconds for m in measures if not m.error]
    return statistics.median(good) if good else None


def rate(group, seconds):
    if seconds is None or seconds <= 0:
        return None
    if group.unit == "s":
        return seconds
    scale = MB if group.unit == "MB/s" else 1
    return group.amount / scale / seconds


def ratio(group, mine, other):
    """Ours against the other, > 1 when ours is better... except for times, where
    the ratio is our time over theirs (the target then says <=)."""
    if mine is None or other is None or not other:
        return None
    return mine / other


def build(groups, results, targets):
    """Rows of the table: one per case, with its median and target verdict."""
    by_key = {}
    rows = []
    for group in groups:
        for case in group.cases:
            measures = results.get(case.key, [])
            seconds = median_seconds(measures)
            rss = [m.rss_kib for m in measures if m.rss_kib]
            row = {"group": group.title, "key": case.key, "case": case.label,
                   "role": case.role, "unit": group.unit, "runs": len(measures),
                   "failed_runs": sum(1 for m in measures if m.error),
                   "seconds": [round(m.seconds, 3) for m in measures],
                   "median_seconds": seconds, "median_rate": rate(group, seconds),
                   "peak_rss_mib": round(max(rss) / 1024.0, 1) if rss else None,
                   "link_share": (group.amount / group.link / seconds
                                  if group.link and seconds else None),
                   "errors": sorted(set(m.error for m in measures if m.error))}
            by_key[case.key] = (group, row)
            rows.append(row)
    for target in targets:
        if target.key not in by_key or target.versus not in by_key:
            continue
        group, row = by_key[target.key]
        other = by_key[target.versus][1]
        value = ratio(group, row["median_rate"], other["median_rate"])
        lower_is_better = group.unit == "s"
        met = None if value is None else (value <= target.goal if lower_is_better
                                          else value >= target.goal)
        row.setdefault("targets", []).append({
            "versus": target.versus, "ratio": value, "goal": target.goal,
            "sense": "<=" if lower_is_better else ">=", "met": met, "text": target.text})
    return rows


def rss_verdict(groups, rows):
    big = {c.key for g in groups if g.big for c in g.cases if c.role == "ours"}
    peaks = [(r["peak_rss_mib"], r["case"]) for r in rows
             if r["key"] in big and r["peak_rss_mib"] is not None]
    if not peaks:
        return None
    peak, where = max(peaks)
    return {"peak_rss_mib": peak, "case": where, "goal_mib": RSS_LIMIT_MIB,
            "met": peak <= RSS_LIMIT_MIB}


def print_table(rows, rss, missing):
    print()
    print("Medians (MB/s = 10^6 bytes/s; whole processes: start, connect, list, copy)")
    header = "%-34s %-34s %-6s %4s %8s %12s  %s" % (
        "group", "case", "role", "runs", "median s", "rate", "target: ratio vs goal")
    print(header)
    print("-" * len(header))
    last = None
    for row in rows:
        value = row["median_rate"]
        text = "-" if value is None else (
            "%.1f %s" % (value, row["unit"]) if row["unit"] == "MB/s" else
            "%.0f %s" % (value, row["unit"]) if row["unit"] != "s" else "%.2f s" % value)
        verdicts = []
        for t in row.get("targets", []):
            if t["ratio"] is None:
                verdicts.append("%s: no data" % t["text"])
            else:
                verdicts.append("%s %.2fx %s %.2fx %s" % (
                    "MET  " if t["met"] else "MISSED", t["ratio"], t["sense"], t["goal"],
                    t["text"]))
        if row.get("link_share") is not None:
            verdicts.insert(0, "%.0f %% of the link" % (100 * row["link_share"]))
        if row["failed_runs"]:
            verdicts.append("%d FAILED run(s)" % row["failed_runs"])
        print("%-34s %-34s %-6s %4d %8s %12s  %s" % (
            row["group"][:34] if row["group"] != last else "", row["case"][:34], row["role"],
            row["runs"], "-" if row["median_seconds"] is None
            else "%.2f" % row["median_seconds"], text, "; ".join(verdicts)))
        last = row["group"]
    if rss is not None:
        print("peak RSS of our process in the big-file cases: %.0f MiB (%s): %s <= %d MiB"
              % (rss["peak_rss_mib"], rss["case"], "MET" if rss["met"] else "MISSED",
                 rss["goal_mib"]))
    for text in missing:
        print("NOT MEASURED: %s" % text)


def write_json(directory, meta, rows, rss, missing):
    os.makedirs(directory, exist_ok=True)
    payload = {"meta": meta, "rows": rows, "peak_rss": rss, "not_measured": missing}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    paths = [os.path.join(directory, "bench-%s.json" % stamp),
             os.path.join(directory, "bench-latest.json")]
    for path in paths:
        with open(path, "w") as handle:
            json.dump(payload, handle, indent=1, sort_keys=True)
    return paths[0]
