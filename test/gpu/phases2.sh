#!/bin/bash
# On a two-GPU machine (device tool, nvidia-h200-x2; .carry/ from scripts/make-carry.sh): runs
# test/gpu/phases2.py under torchrun and the agent at 10 Hz; leaves the collector's store
# (test/fixtures/phases-2gpu/), the reports and the logs in $OUT.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw; mkdir -p "$OUT"
xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node; N=/tmp/node
rm -rf /tmp/p2data /tmp/p2spool
$N "$SW/collector.mjs" serve --port 7713 --data /tmp/p2data > "$OUT/collector.log" 2>&1 < /dev/null & COL=$!
sleep 1
{
  nvidia-smi -L; nvidia-smi topo -m; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
  $N "$SW/agent.mjs" run --collector ws://127.0.0.1:7713 --run-id phases2 --interval-ms 100 --spool-dir /tmp/p2spool \
    -- torchrun --standalone --nproc_per_node 2 test/gpu/phases2.py "${PHASE_S:-6}"
  echo "workload exit=$?"
} > "$OUT/run.log" 2>&1 < /dev/null
for f in md json; do $N "$SW/collector.mjs" report phases2 --data /tmp/p2data --format $f --out "$OUT/report.$f"; done
kill -TERM $COL; wait $COL
gzip -9 -c /tmp/p2data/stagewatch.sqlite > "$OUT/store.sqlite.gz"
tail -8 "$OUT/run.log"; grep -A8 '^| stage' "$OUT/report.md" | cut -c1-300
python3 - "$OUT/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for h in r["hosts"]:
    for s in h["stages"]:
        print(s["name"], s["bottleneck"], [(g["index"], g["bottleneck"], {k: round(v, 2) for k, v in g["shares"].items() if v > 0.01}, g.get("nvlink_load_pct")) for g in s["gpus"]])
PY
