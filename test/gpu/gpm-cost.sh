#!/bin/bash
# On a GPU machine (device tool, .carry/ from scripts/make-carry.sh): GPM timing experiment
# (test/gpu/gpm_timing.py) and the agent's CPU as a 10 Hz daemon beside a CUDA load, with Node
# CPU profiles of each agent. Writes into $OUT.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw; mkdir -p "$OUT"
xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node && N=/tmp/node
nvidia-smi -L; nvidia-smi --query-gpu=driver_version --format=csv,noheader
echo "## gpm timing"; python3 test/gpu/gpm_timing.py "$OUT/gpm-timing.json" 2>&1 | tail -3
$N "$SW/collector.mjs" serve --port 7711 --data /tmp/swdata > /tmp/collector.log 2>&1 < /dev/null &
sleep 1
echo "## agent cost"
# PROFILE=1: Node CPU profiles of each agent (the profiler's own thread adds several % of a core).
MEASURE_ONLY=${MEASURE_ONLY:-daemon-nvml-10hz-workload-tree,daemon-nvml-10hz,daemon-host-only-10hz} MEASURE_NODE_ARGS=${PROFILE:+"--cpu-prof --cpu-prof-dir=$OUT/prof-NAME"} \
  STAGEWATCH_COLLECTOR=ws://127.0.0.1:7711 $N test/gpu/measure.mjs "$SW/agent.mjs" "$OUT" ${COST_SECONDS:-60} test/gpu/torch_load.py 2>&1 | grep -v '^ *"stderr\|^ *\]' | head -60
pkill -f collector.mjs; true
