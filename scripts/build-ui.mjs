#!/usr/bin/env node
// Builds the collector's web UI (collector/ui, TypeScript + uPlot) into collector/dist/ui.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'collector', 'dist', 'ui');
mkdirSync(path.join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { app: path.join(root, 'collector', 'ui', 'app.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  outdir: path.join(out, 'assets'),
  logLevel: 'warning',
});
copyFileSync(path.join(root, 'collector', 'ui', 'index.html'), path.join(out, 'index.html'));
