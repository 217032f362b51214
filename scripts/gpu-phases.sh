#!/bin/bash
# On a GPU machine (the `device` tool): runs test/gpu/phases.py, phases of known design, under
# the agent at 10 Hz with NVML and keeps the capture (samples, marks, designed truth) and the
# report in $OUT. Expects .carry/ from scripts/make-carry.sh.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw; mkdir -p "$OUT"
[ -x /tmp/node ] || { xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node; }
N=/tmp/node; export PATH=/tmp:$PATH
P=${PHASES_OUT:-$OUT/phases}; mkdir -p "$P"
$N "$SW/collector.mjs" serve --port 7712 --data /tmp/phdata 2> /tmp/ph-collector.log &
CPID=$!
sleep 1
$N "$SW/agent.mjs" run --collector ws://127.0.0.1:7712 --run-id phases --interval-ms 100 \
  --spool-dir /tmp/phspool --tee /tmp/ph-samples.jsonl --marks /tmp/ph-marks.jsonl \
  -- python3 test/gpu/phases.py /tmp/ph-marks.jsonl "$P/truth.json" > "$P/workload.log" 2> "$P/agent.log"
echo "phases exit=$?"
for f in md json; do $N "$SW/collector.mjs" report phases --data /tmp/phdata --format $f --out "$P/report.$f"; done
gzip -c /tmp/ph-samples.jsonl > "$P/samples.jsonl.gz"; cp /tmp/ph-marks.jsonl "$P/marks.jsonl"
kill $CPID
nvidia-smi -q > "$P/nvidia-smi-q.txt" 2>&1
ls -la "$P"; tail -5 "$P/agent.log"; cat "$P/report.md" | head -40
