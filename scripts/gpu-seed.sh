#!/bin/bash
# On a GPU machine (device tool): the #10 measurements of test/gpu/seed-run.sh, all phases in one
# call, packed into $OUT/seed.tgz after each phase (the device tool returns at most 8 files).
set -u
REAL_OUT=${OUT:-/tmp/out}; export OUT=/tmp/seed-out; mkdir -p "$OUT" "$REAL_OUT"
export NP=${NP:-$(nvidia-smi -L | wc -l)} REPEATS=${REPEATS:-2}
pack() { tar -C "$OUT" -czf "$REAL_OUT/seed.tgz" . ; }
nvidia-smi -L; echo "NP=$NP REPEATS=$REPEATS"
for phase in ${PHASES:-overhead clocks configs report}; do
  echo "## $phase $(date +%T)"; bash .carry/seed-run.sh $phase; pack
done
bash .carry/seed-run.sh stop  # nothing left running that holds this call's output open
cat "$OUT/check.txt" 2>/dev/null; head -30 "$OUT/compare-configs.md" 2>/dev/null
