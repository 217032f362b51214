#!/bin/bash
# On a GPU machine (the `device` tool), checks what needs a real driver:
#  1. the release archive reads NVML through the koffi it ships (probe says backend nvml);
#  2. Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops the agent on the
#     nvidia-smi backend without a spurious "nvidia-smi failed; restarting".
# Needs: Node on PATH (or .carry/node.xz from scripts/make-carry.sh) and the archive made by
# `npm run release` copied to .carry/ (dist/stagewatch-agent-<v>-linux-x64.tar.gz). Writes $OUT/release-check.txt.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; mkdir -p "$OUT"
if ! command -v node >/dev/null; then xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node && export PATH=/tmp:$PATH; fi
{
  A=$(ls "$C"/stagewatch-agent-*-linux-x64.tar.gz | head -1)
  (cd "$C" && sha256sum -c "$(basename "$A").sha256")
  rm -rf /tmp/rel && mkdir /tmp/rel && tar xzf "$A" -C /tmp/rel && D=$(ls -d /tmp/rel/stagewatch-agent-*)
  echo "## version"; node "$D/agent.mjs" --version
  echo "## probe (expect backend nvml)"; node "$D/agent.mjs" probe --json | node -e "process.stdin.on('data', d => { const p = JSON.parse(d); console.log(JSON.stringify({ backend: p.backend, nvml: p.nvml, gpus: p.gpus.length })) })"
  echo "## Ctrl-C on the nvidia-smi backend (expect no 'restarting')"
  setsid node "$D/agent.mjs" daemon --collector ws://127.0.0.1:9 --spool-dir /tmp/rel-spool --gpu-backend nvidia-smi --drain-s 1 2> /tmp/rel-agent.log &
  P=$!; sleep 5; kill -INT -- -$P; wait $P; echo "agent exit $?"
  grep -c "restarting" /tmp/rel-agent.log | sed 's/^/lines saying restarting (nvidia-smi or collector retries): /'
  grep -i "nvidia-smi" /tmp/rel-agent.log | grep -i "restarting\|failed" || echo "no nvidia-smi failure logged: ok"
} > "$OUT/release-check.txt" 2>&1
cat "$OUT/release-check.txt"
