// One agent that sends as fast as its socket takes, in a process of its own so that the
// measuring side (the test) is not slowed by building and masking its frames.
// Usage: node flooder.mjs WS_URL TOKEN BATCHES PER_BATCH; prints "acked N" when done.
import WebSocket from 'ws';

const [url, token, batches, perBatch] = process.argv.slice(2);
const total = Number(batches);
const ws = new WebSocket(`${url}/agent`, { headers: { authorization: `Bearer ${token}` } });
let acked = 0;
ws.on('message', (d) => {
  const m = JSON.parse(String(d));
  if (m.type === 'welcome') send();
  acked += m.seqs?.length ?? 0;
  if (acked === total) {
    console.log(`acked ${acked}`);
    ws.close();
  }
});
ws.on('open', () => ws.send(JSON.stringify({ type: 'hello', protocol: 1, agentId: 'flooder', host: 'flood-host', runId: 'flood-run', gpus: [], capabilities: { gpm: false, fields: [] }, agentVersion: 'flooder' })));
ws.on('error', (e) => {
  console.error(e.message);
  process.exit(1);
});

async function send() {
  const t = Date.now();
  const samples = JSON.stringify(Array.from({ length: Number(perBatch) }, (_, i) => ({ t: t + i, host: 'flood-host', source: 'host', m: { cpu_pct: i % 100, load1: 1 } })));
  for (let seq = 1; seq <= total; seq++) {
    // As fast as the socket drains: the collector's backpressure is all that holds it back.
    while (ws.bufferedAmount > 8 << 20) await new Promise((r) => setTimeout(r, 5));
    ws.send(`{"type":"batch","seq":${seq},"runId":"flood-run","samples":${samples},"health":[],"marks":[],"clock":null,"loss":{"batches":0,"samples":0}}`);
  }
}
