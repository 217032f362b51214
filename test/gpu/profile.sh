#!/bin/bash
# On a GPU machine: CPU profiles of the agent daemon (NVML, 10 Hz) and of a host-only one.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw
xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node; N=/tmp/node
$N "$SW/collector.mjs" serve --port 7711 --data /tmp/swdata 2>/dev/null &
sleep 1
mkdir -p /tmp/p1 /tmp/p2
$N --cpu-prof --cpu-prof-dir=/tmp/p1 "$SW/agent.mjs" daemon --collector ws://127.0.0.1:7711 --interval-ms 100 --spool-dir /tmp/s1 --drain-s 1 2>/dev/null & A=$!
STAGEWATCH_NVML_LIB=/nonexistent $N --cpu-prof --cpu-prof-dir=/tmp/p2 "$SW/agent.mjs" daemon --collector ws://127.0.0.1:7711 --gpu-backend nvml --interval-ms 100 --spool-dir /tmp/s2 --drain-s 1 2>/dev/null & B=$!
sleep 30; kill -INT $A $B; wait $A $B
gzip -c /tmp/p1/*.cpuprofile > "$OUT/nvml.cpuprofile.gz"; gzip -c /tmp/p2/*.cpuprofile > "$OUT/hostonly.cpuprofile.gz"; ls -la "$OUT"
