import pg from 'pg';
import { z } from 'zod';
import type { StoredElsewhere } from '../engine.js';
import { marksWhere, numbered, samplesOf, type BlockRowPg, type NamesFor } from './reads.js';

/** The channel every collector on a database LISTENs on. */
export const CHANNEL = 'stagewatch_batches';
/** PostgreSQL refuses a payload of 8000 bytes or more; notices are cut below that. */
const MAX_PAYLOAD = 7000;

/** Ids as [from, to] ranges: a commit's ids are mostly consecutive. */
export function toRanges(ids: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const id of [...ids].sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && id === last[1] + 1) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

const expand = (rs: ReadonlyArray<readonly [number, number]>): number[] => rs.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));

const Range = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).refine(([a, b]) => a <= b && b - a < 1_000_000, 'a range [from, to] of ids');
/** A notice: which collector committed (c), for which host (h), its new blocks (b) and marks (m). */
const NoticeSchema = z.object({ c: z.string(), h: z.string(), b: z.array(Range), m: z.array(Range) });
export type Notice = z.infer<typeof NoticeSchema>;

/** The notices for one commit: one or more per host, each under PostgreSQL's payload limit. */
export function notices(collector: string, byHost: ReadonlyMap<string, { bids: number[]; mids: number[] }>): string[] {
  const out: string[] = [];
  for (const [h, { bids, mids }] of byHost) {
    let cur: Notice = { c: collector, h, b: [], m: [] };
    const size = (n: Notice): number => Buffer.byteLength(JSON.stringify(n));
    for (const [key, ranges] of [['b', toRanges(bids)], ['m', toRanges(mids)]] as const) {
      for (const r of ranges) {
        cur[key].push(r);
        if (size(cur) > MAX_PAYLOAD) {
          cur[key].pop();
          out.push(JSON.stringify(cur));
          cur = { c: collector, h, b: [], m: [] };
          cur[key].push(r);
        }
      }
    }
    if (cur.b.length > 0 || cur.m.length > 0) out.push(JSON.stringify(cur));
  }
  return out;
}

/**
 * LISTENs for what other collectors commit and reads the blocks and marks of hosts a live view
 * here watches. Its own connection (a pooled one cannot hold a LISTEN); reconnects after a loss,
 * and what was committed while it was away is not replayed (a live view shows from then on; the
 * report and series read the store).
 */
export class PgListener {
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly pool: pg.Pool,
    private readonly self: string,
    private readonly namesFor: NamesFor,
    private readonly wanted: (host: string) => boolean,
    private readonly deliver: (s: StoredElsewhere) => void,
    private readonly log: (msg: string) => void,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload) void this.onNotice(n.payload);
    });
    client.on('error', (e) => this.lost(client, e));
    client.on('end', () => this.lost(client, null));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    // Closed while connecting: this connection must not keep the process alive.
    if (this.closed) return void (await client.end().catch(() => undefined));
    this.client = client;
  }

  private lost(client: pg.Client, e: Error | null): void {
    if (this.closed || this.client !== client) return;
    this.client = null;
    this.log(`PostgreSQL notifications lost${e ? ` (${e.message})` : ''}; listening again in 1 s`);
    client.end().catch(() => undefined);
    const again = (): void => {
      this.retry = setTimeout(() => {
        if (!this.closed) this.start().catch(again);
      }, 1000);
      this.retry.unref();
    };
    again();
  }

  private async onNotice(payload: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return this.log(`ignored a ${CHANNEL} notice that is not JSON`);
    }
    const notice = NoticeSchema.safeParse(parsed);
    if (!notice.success) return this.log(`ignored a ${CHANNEL} notice: ${notice.error.issues[0]?.message ?? 'invalid'}`);
    const { c, h, b, m } = notice.data;
    if (c === this.self || !this.wanted(h)) return;
    try {
      const { rows } = await this.pool.query<BlockRowPg & { runId: string }>(
        'SELECT b.bid, b.n, b.source, b.data, r.id AS "runId" FROM blocks b JOIN runs r ON r.rid = b.rid WHERE b.bid = ANY($1::bigint[])',
        [expand(b)],
      );
      const marks = m.length > 0 ? await marksWhere(this.pool, 'm.mid = ANY($1::bigint[])', [expand(m)]) : [];
      const runId = rows[0]?.runId ?? (m.length > 0 ? await this.runOfMark(m[0]?.[0] as number) : null);
      if (runId === null) return;
      const blocks = numbered(rows);
      this.deliver({ host: h, runId, samples: samplesOf(blocks, h, await this.namesFor(blocks)), marks });
    } catch (e) {
      this.log(`reading what another collector stored for ${h}: ${(e as Error).message}`);
    }
  }

  private async runOfMark(mid: number): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>('SELECT r.id FROM marks m JOIN runs r ON r.rid = m.rid WHERE m.mid = $1', [mid]);
    return rows[0]?.id ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
