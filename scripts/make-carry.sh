#!/bin/bash
# Packs what scripts/gpu-run.sh needs on a GPU machine without Node or network into .carry/.
set -eu
cd "$(dirname "$0")/.."
rm -rf .carry && mkdir -p .carry/sw/node_modules
npm run build >/dev/null
xz -T2 -c "$(command -v node)" > .carry/node.xz
node scripts/bundle.mjs .carry/sw/agent.mjs >/dev/null
node -e "
const { build } = require('esbuild');
build({ entryPoints: ['collector/src/main.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: '.carry/sw/collector.mjs',
  banner: { js: \"import { createRequire as __c } from 'node:module'; const require = __c(import.meta.url);\" },
  external: ['better-sqlite3', 'bufferutil', 'utf-8-validate'], logLevel: 'warning' });
// The report-time benchmark, to time the report on a quiet machine (gpu-all.sh reporttime).
build({ entryPoints: ['test/bench/report-time.mjs'], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: '.carry/sw/report-time.mjs',
  banner: { js: \"import { createRequire as __c } from 'node:module'; const require = __c(import.meta.url);\" },
  external: ['better-sqlite3'], logLevel: 'warning' });
"
# Native modules beside the bundles: koffi (NVML) for x86-64 Linux only, better-sqlite3 with its loader.
mkdir -p .carry/sw/node_modules/koffi/build/koffi
cp -r node_modules/koffi/{index.js,package.json,lib} .carry/sw/node_modules/koffi/ 2>/dev/null || cp node_modules/koffi/{index.js,package.json} .carry/sw/node_modules/koffi/
cp -r node_modules/koffi/build/koffi/linux_x64 .carry/sw/node_modules/koffi/build/koffi/
for m in better-sqlite3 bindings file-uri-to-path; do mkdir -p .carry/sw/node_modules/$m && cp -r node_modules/$m/{package.json,lib} .carry/sw/node_modules/$m/ 2>/dev/null || cp -r node_modules/$m/* .carry/sw/node_modules/$m/; done
mkdir -p .carry/sw/node_modules/better-sqlite3/build/Release && cp node_modules/better-sqlite3/build/Release/better_sqlite3.node .carry/sw/node_modules/better-sqlite3/build/Release/
cp ../shared/tools/gpu-capture/workload.py test/gpu/workload_with_marks.py test/gpu/measure.mjs test/gpu/nvml-check.mjs test/gpu/nvml-calls.mjs test/gpu/torch_load.py test/gpu/fingerprint.mjs test/gpu/seed_workload.py test/gpu/seed-run.sh test/gpu/seed-check.py .carry/
mkdir -p .carry/agent/clients/python && cp agent/clients/python/stagewatch.py .carry/agent/clients/python/
# The release archive too, for test/gpu/release-check.sh.
node scripts/release.mjs --out .carry linux-x64 >/dev/null
du -sh .carry
