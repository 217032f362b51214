#!/usr/bin/env node
// `npm run release [-- --out DIR] [-- PLATFORM ...]`: the agent as a versioned artifact per
// platform, dist/stagewatch-agent-<version>-<platform>.tar.gz and its .sha256 (sha256sum format).
// Each holds the single-file bundle, koffi's JS and that platform's native koffi.node beside it
// (so NVML works with nothing placed by hand), the Python marks client, and a README. The
// bundle is plain JavaScript; only koffi.node differs between platforms, and the koffi package
// ships every platform's build, so all are made here. Archives are reproducible: sorted names,
// owner 0, fixed mtimes (SOURCE_DATE_EPOCH, else the last commit's time), gzip without a time.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? path.resolve(args[outAt + 1]) : path.join(root, 'dist');
const platforms = args.filter((a, i) => !a.startsWith('--') && i !== outAt + 1);
const PLATFORMS = { 'linux-x64': 'linux_x64', 'linux-arm64': 'linux_arm64' };
const wanted = platforms.length > 0 ? platforms : Object.keys(PLATFORMS);
for (const p of wanted) if (!PLATFORMS[p]) throw new Error(`unknown platform ${p} (known: ${Object.keys(PLATFORMS).join(', ')})`);

const version = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version;
const stamped = /VERSION = '([^']+)'/.exec(readFileSync(path.join(root, 'shared', 'src', 'version.ts'), 'utf8'))?.[1];
if (stamped !== version) throw new Error(`shared/src/version.ts says ${stamped}, package.json ${version}: make them equal`);
const git = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' });
const epoch = process.env.SOURCE_DATE_EPOCH ?? (git.status === 0 && git.stdout.trim()) ?? '0';

const koffi = path.join(root, 'node_modules', 'koffi');
const work = path.join(out, '.release');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const bundle = path.join(work, 'agent.mjs');
const b = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs'), bundle], { stdio: ['ignore', 'ignore', 'inherit'] });
if (b.status !== 0) throw new Error('bundling failed');

for (const platform of wanted) {
  const name = `stagewatch-agent-${version}-${platform}`;
  const dir = path.join(work, name);
  mkdirSync(path.join(dir, 'node_modules', 'koffi', 'build', 'koffi'), { recursive: true });
  cpSync(bundle, path.join(dir, 'agent.mjs'));
  for (const f of ['index.js', 'package.json', 'LICENSE.txt']) cpSync(path.join(koffi, f), path.join(dir, 'node_modules', 'koffi', f));
  cpSync(path.join(koffi, 'build', 'koffi', PLATFORMS[platform]), path.join(dir, 'node_modules', 'koffi', 'build', 'koffi', PLATFORMS[platform]), { recursive: true });
  cpSync(path.join(root, 'agent', 'clients', 'python', 'stagewatch.py'), path.join(dir, 'clients', 'python', 'stagewatch.py'), { recursive: true });
  writeFileSync(path.join(dir, 'VERSION'), `${version}\n`);
  writeFileSync(
    path.join(dir, 'README.txt'),
    `stagewatch agent ${version} for ${platform}\n\nNeeds Node 20.19 or newer and nothing else:\n  node agent.mjs --version\n  node agent.mjs probe\n  node agent.mjs daemon --collector ws://COLLECTOR:7711 --token T\n\n` +
      `node_modules/koffi (with its native ${PLATFORMS[platform]} build) lets the agent read NVML directly; keep it beside agent.mjs.\n` +
      `clients/python/stagewatch.py marks stages from Python (see the project's docs/REPORT.md).\n`,
  );
  const tar = spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '--mode=u+rwX,go+rX,go-w', '-cf', '-', name], { cwd: work, maxBuffer: 1 << 30 });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
  const gz = gzipSync(tar.stdout, { level: 9 });
  const file = `${name}.tar.gz`;
  writeFileSync(path.join(out, file), gz);
  const sum = createHash('sha256').update(gz).digest('hex');
  writeFileSync(path.join(out, `${file}.sha256`), `${sum}  ${file}\n`);
  console.log(`${path.join(out, file)} ${sum}`);
}
rmSync(work, { recursive: true, force: true });
