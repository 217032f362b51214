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

print("\n## step time: report (its step clock) vs workload CUDA events (ms, mean over ranks)")
print("# the report's step mean must be GPU time (cuda), within 1 % or 0.1 ms of the truth; no share of the step over 100 %")
for run in sorted(gts):
    path = os.path.join(rep_dir, f"report-{run}.json")
    if not os.path.exists(path):
        continue
    rep = json.load(open(path))
    hl = rep["headline"]
    bds = [h["breakdown"] for h in rep["hosts"] if h.get("breakdown")]
    # Truth per step, mean over ranks; span-ends has no step 0 (nothing before it), so compare like with like.
    per_step = {}
    for g in gts[run]:
        for row in g["steps"]:
            per_step.setdefault(row["step"], []).append(row["step_ms"])
    truth_steps = {k: statistics.mean(v) for k, v in per_step.items()}
    rep_steps = {r["step"]: r["duration_ms"] for b in bds for r in b["per_step"] if r["duration_ms"] is not None}
    common = sorted(set(truth_steps) & set(rep_steps)) if hl.get("step_source") == "span-ends" else sorted(truth_steps)
    t = statistics.mean(truth_steps[k] for k in common) if common else float("nan")
    r = hl.get("step_mean_ms")
    shares = [s["share_pct"] for b in bds for s in b["spans"] if s["share_pct"] is not None] + [c["share_pct"] for b in bds for c in b["categories"] if c["share_pct"] is not None]
    refused = "; ".join(b["share_refused"] for b in bds if b.get("share_refused"))
    head = f"{run:20s} clock {hl.get('step_clock')}/{hl.get('step_source')}  truth {t:8.3f}"
    if r is None:
        print(f"{head}  report –  OUTSIDE (no step mean)")
        continue
    ok = hl.get("step_clock") == "cuda" and abs(r - t) <= max(0.01 * t, 0.1)
    worst = max((abs(rep_steps[k] - truth_steps[k]) for k in common if k in rep_steps), default=float("nan"))
    print(f"{head}  report {r:8.3f}  diff {r - t:+.3f} ms ({(r - t) / t * 100:+.2f} %) {'within' if ok else 'OUTSIDE'} 1 % / 0.1 ms;"
          f" worst step {worst:.3f} ms; max share {max(shares, default=0):.1f} % {'ok' if max(shares, default=0) <= 100 else 'OVER 100'}"
          f"{'; shares refused: ' + refused if refused else ''}")
