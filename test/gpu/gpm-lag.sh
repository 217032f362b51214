for p in 5 100 50; do python3 test/gpu/gpm_timing.py /tmp/out-$p.json $p | tail -2; done
mkdir -p $OUT && cp /tmp/out-*.json $OUT/
