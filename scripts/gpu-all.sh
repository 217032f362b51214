#!/bin/bash
# On a GPU machine (device tool, .carry/ from scripts/make-carry.sh): every single-GPU check of
# this release in one call (GPU_ALL_STEPS picks them; not STEPS, which the workloads read). Each script writes into its own folder; the folders are packed into
# $OUT/*.tgz because the device tool returns at most 8 files. Background servers are started with
# every stream redirected, so a pipe on this script's output ends when the script does.
set -u
REAL_OUT=${OUT:-/tmp/out}; mkdir -p "$REAL_OUT"; W=/tmp/gpu-all; mkdir -p $W
step() { # step NAME SCRIPT...: runs a script with OUT=$W/NAME, then packs that folder
  local name=$1; shift; mkdir -p "$W/$name"; echo "## $name $(date +%T)"
  OUT="$W/$name" timeout "${STEP_TIMEOUT:-300}" "$@" < /dev/null > "$W/$name/stdout.txt" 2>&1; echo "$name exit=$?"
  tail -25 "$W/$name/stdout.txt"; tar -C "$W" -czf "$REAL_OUT/$name.tgz" "$name"
}
for s in ${GPU_ALL_STEPS:-phases gpurun}; do
  case $s in
    phases) STEP_TIMEOUT=240 step phases bash test/gpu/phases.sh ;;
    gpurun) STEP_TIMEOUT=300 step gpurun bash scripts/gpu-run.sh ;;
    gpmcost) STEP_TIMEOUT=200 step gpmcost bash test/gpu/gpm-cost.sh ;;
    reporttime) STEP_TIMEOUT=300 step reporttime bash -c 'xz -dc .carry/node.xz > /tmp/node && chmod +x /tmp/node && for a in "" "--gpm-hz 10" "" "--gpm-hz 10"; do /tmp/node .carry/sw/report-time.mjs $a; done' ;;
    release) [ -f test/gpu/release-check.sh ] && STEP_TIMEOUT=120 step release bash test/gpu/release-check.sh ;;
  esac
done
pkill -f collector.mjs 2>/dev/null; true
