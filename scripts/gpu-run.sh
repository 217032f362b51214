#!/bin/bash
# stagewatch on a real GPU machine (the `device` tool; see docs/PERFORMANCE.md for what it
# measures). Expects .carry/ from scripts/make-carry.sh; writes to $OUT.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw; mkdir -p "$OUT"
xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH
N=/tmp/node
{
  echo "## machine"; nvidia-smi -L; nproc; $N --version
  echo "## probe"; $N "$SW/agent.mjs" probe; $N "$SW/agent.mjs" probe --json > "$OUT/probe.json"
  echo "## host fingerprint"; $N "$C/fingerprint.mjs" "$SW/agent.mjs" "$OUT"
  $N "$SW/collector.mjs" serve --port 7711 --data /tmp/swdata 2> /tmp/collector.log &
  sleep 1
  echo "## NVML calls beyond the basics, against a CUDA load (test/gpu/nvml-check.mjs)"
  OUT="$OUT" $N "$C/nvml-check.mjs" "$SW/agent.mjs" "$C/torch_load.py" > /tmp/nvml-check.log 2>&1; echo "nvml-check exit=$?"; head -c 3000 /tmp/nvml-check.log
  echo "## overhead and agreement, while the workload runs"
  STAGEWATCH_COLLECTOR=ws://127.0.0.1:7711 $N "$C/measure.mjs" "$SW/agent.mjs" "$OUT" 60 "$C/torch_load.py" > /tmp/measure.log 2>&1 &
  M=$!
  echo "## workload"
  $N "$SW/agent.mjs" run --collector ws://127.0.0.1:7711 --run-id h100-wan --preset wan --interval-ms 100 \
    --spool-dir /tmp/swspool -- python3 "$C/workload_with_marks.py" "$C/workload.py" /tmp/marks.jsonl > /tmp/workload.out
  echo "workload exit=$?"; tail -3 /tmp/workload.out
  wait $M; cat /tmp/measure.log | head -60
  for f in md json html; do $N "$SW/collector.mjs" report h100-wan --data /tmp/swdata --format $f --out "$OUT/report.$f"; done
  gzip -c /tmp/nvml-10hz.jsonl > "$OUT/nvml-10hz.jsonl.gz"; gzip -c /tmp/smi-10hz.jsonl > "$OUT/smi-10hz.jsonl.gz"
  echo "## collector log"; tail -20 /tmp/collector.log
} > "$OUT/log.txt" 2>&1
cat "$OUT/log.txt" | tail -80
