#!/bin/bash
# The #10 measurements on a 2-GPU machine (device kind nvidia-h200-x2), with .carry/ from
# scripts/make-carry.sh. Phases, each under 10 minutes; the collector's data stays in /tmp/swdata
# while the machine is warm:
#   bash .carry/seed-run.sh overhead   # spans off / spans on / spans+traced collectives, x REPEATS, interleaved
#   bash .carry/seed-run.sh configs    # a2a_gate, ffn_only, fsdp_off with spans+tracing, x REPEATS
#   bash .carry/seed-run.sh clocks     # spans on, steps host-marked only (STEP_CUDA=0): the report must derive GPU step times
#   bash .carry/seed-run.sh report     # reports, compare tables, seed-check.py against the ground truth, and the
#                                      # collector's store (stopped first, so the SQLite file is whole) as swdata.tar.xz
#   bash .carry/seed-run.sh stop       # stops the background collector
# Writes $OUT/{<run>.out, gt/gt-<run>-rank<r>.json, report-<run>.{md,json,html}, compare-*.{md,json,html,csv}, check.txt,
# swdata.tar.xz (replayable in tests: tar -xJf swdata.tar.xz; stagewatch-collector report RUN --data swdata)}.
# The collector runs in the background between phases with every stream redirected: a background
# process holding the caller's stdout would keep `bash seed-run.sh ... | tail` from ever ending.
set -u
OUT=${OUT:-/tmp/out}; C=$PWD/.carry; SW=$C/sw; mkdir -p "$OUT/gt" /tmp/gt
NP=${NP:-2}; REPEATS=${REPEATS:-2}
[ -x /tmp/node ] || { xz -dc "$C/node.xz" > /tmp/node && chmod +x /tmp/node; }
N=/tmp/node

running() { [ -f /tmp/collector.pid ] && kill -0 "$(cat /tmp/collector.pid)" 2>/dev/null; }
# SIGTERM: the collector closes its store (the WAL checkpointed into stagewatch.sqlite), then exits.
stop_collector() {
  running || { rm -f /tmp/collector.pid; return 0; }
  local pid; pid=$(cat /tmp/collector.pid); kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "collector $pid did not stop on SIGTERM in 10 s: killing it" >&2; kill -KILL "$pid"; }
  rm -f /tmp/collector.pid
}
if [ "${1:-}" = stop ]; then stop_collector; exit 0; fi
if ! running; then
  $N "$SW/collector.mjs" serve --port 7711 --data /tmp/swdata < /dev/null > /dev/null 2>> /tmp/collector.log &
  echo $! > /tmp/collector.pid
  sleep 1
fi

# run ID LABEL... -- VAR=VALUE...: one staged, labelled run of the workload under the agent.
run() {
  local id=$1; shift; local labels=()
  while [ "$1" != "--" ]; do labels+=(--label "$1"); shift; done; shift
  env "$@" GT_DIR=/tmp/gt CONFIG="$id" $N "$SW/agent.mjs" run --collector ws://127.0.0.1:7711 --run-id "$id" "${labels[@]}" \
    --preset wan --interval-ms 100 --spool-dir /tmp/swspool -- torchrun --nproc-per-node "$NP" "$C/seed_workload.py" > "$OUT/$id.out" 2>&1
  echo "$id exit=$? $(grep -o 'ground truth: .*' "$OUT/$id.out" | head -1)"
}

case "${1:-}" in
  overhead)
    for r in $(seq 1 "$REPEATS"); do
      run "seed-off-$r" config=fsdp spans=off -- SPANS=0 TRACE=0
      run "seed-spans-$r" config=fsdp spans=on -- SPANS=1 TRACE=0
      run "seed-full-$r" config=fsdp spans=full -- SPANS=1 TRACE=1
    done ;;
  clocks)
    for r in $(seq 1 "$REPEATS"); do
      run "seed-hoststeps-$r" config=fsdp spans=on steps=host -- SPANS=1 TRACE=0 STEP_CUDA=0
    done ;;
  configs)
    for r in $(seq 1 "$REPEATS"); do
      run "seed-gate-$r" config=a2a_gate spans=full -- SPANS=1 TRACE=1 A2A_GATE=1
      run "seed-ffn-$r" config=fsdp_ffn_only spans=full -- SPANS=1 TRACE=1 FFN_ONLY=1
      run "seed-nofsdp-$r" config=fsdp_off spans=full -- SPANS=1 TRACE=1 FSDP_OFF=1
    done ;;
  report)
    ids=$(cd /tmp/gt && ls gt-*-rank0.json | sed 's/^gt-//; s/-rank0.json$//')
    for id in $ids; do
      for f in md json html; do $N "$SW/collector.mjs" report "$id" --data /tmp/swdata --format $f --out "$OUT/report-$id.$f"; done
    done
    off=$(echo "$ids" | grep '^seed-off-' | tr '\n' ' '); on=$(echo "$ids" | grep -E '^seed-(spans|full)-' | tr '\n' ' ')
    $N "$SW/collector.mjs" compare --baseline seed-off-1 $off $on --metrics step_mean_ms,request_total_ms --data /tmp/swdata --out "$OUT/compare-overhead.md"
    cfg=$(echo "$ids" | grep -E '^seed-(full|gate|ffn|nofsdp)-' | tr '\n' ' ')
    for f in md json html csv; do
      $N "$SW/collector.mjs" compare --baseline seed-full-1 $cfg --metrics request_total_ms,step_mean_ms,comm_total_ms,exposed_comm_ms,span:qkv_all_to_all,span:out_all_to_all,span:all_gather,reserved_peak_mib \
        --data /tmp/swdata --format $f --out "$OUT/compare-configs.$f"
    done
    hs=$(echo "$ids" | grep '^seed-hoststeps-' | tr '\n' ' ')
    # GPU step times from step spans (seed-spans) against those derived from span ends (seed-hoststeps): both cuda.
    [ -n "$hs" ] && $N "$SW/collector.mjs" compare --baseline seed-spans-1 $(echo "$ids" | grep '^seed-spans-' | tr '\n' ' ') $hs \
      --metrics step_mean_ms,span:qkv_all_to_all --data /tmp/swdata --out "$OUT/compare-clocks.md"
    cp /tmp/gt/gt-*.json "$OUT/gt/"
    python3 "$C/seed-check.py" /tmp/gt "$OUT" | tee "$OUT/check.txt"
    stop_collector
    tail -20 /tmp/collector.log > "$OUT/collector-log-tail.txt"
    tar -C /tmp -cJf "$OUT/swdata.tar.xz" swdata && ls -l "$OUT/swdata.tar.xz" ;;
  *) echo "usage: seed-run.sh overhead|configs|clocks|report|stop" >&2; exit 2 ;;
esac
