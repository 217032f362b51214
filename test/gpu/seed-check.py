#!/usr/bin/env python3
"""Checks #10's done-when figures from seed-run.sh output: spans on vs off (median step time from
the workload's own CUDA events, each rank) and the report's per-step all_to_all totals against
the workload's own CUDA-event timings.

    python3 seed-check.py GT_DIR REPORT_DIR
GT_DIR holds gt-<run>-rank<r>.json; REPORT_DIR holds report-<run>.json. Prints a table and, per
criterion, the measured figure next to its bound (within / OUTSIDE).
"""
import glob
import json
import os
import statistics
import sys

gt_dir, rep_dir = sys.argv[1], sys.argv[2]
gts = {}
for path in sorted(glob.glob(os.path.join(gt_dir, "gt-*-rank*.json"))):
    g = json.load(open(path))
    gts.setdefault(g["config"], []).append(g)


def median_step(run):
    return statistics.mean(g["median_step_ms"] for g in gts[run])


print("## median step (ms, CUDA events, mean over ranks)")
groups = {}
for run in sorted(gts):
    kind = run.rsplit("-", 1)[0]
    groups.setdefault(kind, []).append(median_step(run))
    print(f"{run:20s} {median_step(run):9.3f}   host {statistics.mean(g['median_host_step_ms'] for g in gts[run]):9.3f}   stagewatch {gts[run][0].get('stagewatch')}")
off = groups.get("seed-off")
for kind in ("seed-spans", "seed-full"):
    if off and kind in groups:
        d = (statistics.median(groups[kind]) - statistics.median(off)) / statistics.median(off) * 100
        print(f"{kind} vs seed-off: median step {d:+.2f} % ({'within' if abs(d) <= 1 else 'OUTSIDE'} the 1 % bound)")

print("\n## per-step all_to_all: report vs workload CUDA events (ms, mean over ranks and steps)")
for run in sorted(gts):
    path = os.path.join(rep_dir, f"report-{run}.json")
    if not os.path.exists(path):
        continue
    spans = json.load(open(path))["headline"]["spans"]
    truth = {}
    for g in gts[run]:
        for k, v in g["all_to_all_per_step_mean_ms"].items():
            truth.setdefault(k, []).append(v)
    for name, vals in sorted(truth.items()):
        t = statistics.mean(vals)
        r = spans.get(name)
        if r is None:
            print(f"{run:20s} {name:18s} truth {t:8.3f}  report –  (no span: spans off)")
            continue
        diff = r - t
        ok = abs(diff) <= max(0.05 * t, 0.1)
        print(f"{run:20s} {name:18s} truth {t:8.3f}  report {r:8.3f}  diff {diff:+.3f} ms ({diff / t * 100:+.2f} %) {'within' if ok else 'OUTSIDE'} 5 % / 0.1 ms")
