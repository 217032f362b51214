#!/bin/bash
# On a GPU machine (the `device` tool, repository root, .carry/ from scripts/make-carry.sh):
# runs test/gpu/phases.py under the agent at 10 Hz, then leaves in $OUT the collector's store
# (the fixture test/phases-replay.test.ts replays: copy it to test/fixtures/phases-h100/),
# the report in three forms, and the logs.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw; mkdir -p "$OUT"
xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node; N=/tmp/node
rm -rf /tmp/phdata /tmp/phspool
$N "$SW/collector.mjs" serve --port 7712 --data /tmp/phdata 2> "$OUT/collector.log" & COL=$!
sleep 1
{
  nvidia-smi -L; nproc; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
  $N "$SW/agent.mjs" run --collector ws://127.0.0.1:7712 --run-id phases --interval-ms 100 --spool-dir /tmp/phspool \
    -- python3 test/gpu/phases.py "${PHASE_S:-10}"
  echo "workload exit=$?"
} > "$OUT/run.log" 2>&1
for f in md json html; do $N "$SW/collector.mjs" report phases --data /tmp/phdata --format $f --out "$OUT/report.$f"; done
# A clean stop checkpoints the WAL into the one file.
kill -TERM $COL; wait $COL
ls -la /tmp/phdata; gzip -9 -c /tmp/phdata/stagewatch.sqlite > "$OUT/store.sqlite.gz"
tail -5 "$OUT/run.log"; grep -A12 '^| stage' "$OUT/report.md" | cut -c1-400
