#!/bin/bash
# The agent's CPU sending JSON batches against columnar frames: the daemon with the NVML stand-in
# (test/nvml-standin/) at 10 Hz streams 40 s to a collector that advertises columnar frames, then
# to one that does not, twice each. Uses the bundles of scripts/make-carry.sh (.carry/sw/).
#   bash test/bench/agent-frames-ab.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd); W=$(mktemp -d); cd "$W"
gcc -shared -fPIC -O2 -o libnvidia-ml.so.1 "$ROOT/test/nvml-standin/libnvidia-ml.c"
cp "$ROOT/.carry/sw/collector.mjs" "$ROOT/.carry/sw/agent.mjs" .; cp -r "$ROOT/.carry/sw/node_modules" .
sed 's/wss.on("headers", (headers) => headers.push(`${FRAMES_HEADER}: ${COLUMNAR}`));//' collector.mjs > collector-json.mjs
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
for variant in collector collector-json collector collector-json; do
  rm -rf data spool; node "$variant.mjs" serve --port 7799 --data data > col.log 2>&1 < /dev/null & C=$!
  sleep 1
  STAGEWATCH_NVML_LIB=$PWD/libnvidia-ml.so.1 node agent.mjs daemon --collector ws://127.0.0.1:7799 --run-id ab --interval-ms 100 \
    --spool-dir spool --frames columnar > ag.log 2>&1 < /dev/null & A=$!
  sleep 5; t0=$(ticks $A); sleep 40; t1=$(ticks $A)
  echo "$([ $variant = collector ] && echo columnar || echo json) frames: agent CPU $(echo "scale=2; ($t1-$t0)/40" | bc) % of a core"
  kill $A; sleep 1; kill $C; wait 2>/dev/null || true
done
rm -rf "$W"
