#!/usr/bin/env node
// node cmp-report.mjs <dist root> <store dir>: one report in this fresh process; wall, CPU, peak RSS.
const [root, dir] = process.argv.slice(2);
const { SqliteStore } = await import(`${root}/collector/dist/store/sqlite.js`);
const { makeReport } = await import(`${root}/collector/dist/report/index.js`);
const store = new SqliteStore(dir);
const c0 = process.cpuUsage(); const r0 = performance.now();
makeReport(store, 'hour');
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ root, wallS: +((performance.now() - r0) / 1000).toFixed(2), cpuS: +((c.user + c.system) / 1e6).toFixed(2), peakRssMib: Math.round(process.resourceUsage().maxRSS / 1024) }));
store.close();
