import type pg from 'pg';
import { mergeBlocks } from '../block-merge.js';
import { hostBlock, sampleOf, type HostBlock } from '../block-reads.js';
import type { RecentData } from '../engine.js';
import { markFromRow, type HostSeen, type MarkRow, type RunSummary, type StoredMark, type StoredSample } from '../rows.js';
import { summaryOf, type RunRow } from '../runs.js';

type Db = pg.Pool | pg.ClientBase;

/** Metric names of these blocks' ids, reading ids another collector added since this one last looked. */
export type NamesFor = (blocks: readonly HostBlock[]) => Promise<(id: number) => string>;

/** The SQLite store's summary query (runs.ts) in PostgreSQL's words; host names in byte order, as SQLite's. */
const RUNS = (one: boolean): string =>
  `SELECT r.id, r.kind, coalesce(r.data_start, r.started_at) AS started_at, r.ended_at, r.exit_code, r.signal, r.labels,
          string_agg(h.name, E'\\n') AS hosts
   FROM runs r LEFT JOIN run_hosts rh ON rh.rid = r.rid LEFT JOIN hosts h ON h.hid = rh.hid
   ${one ? 'WHERE r.id = $1' : ''} GROUP BY r.rid ORDER BY 3 DESC, r.rid DESC`;

export async function runSummariesPg(db: Db, runId: string | null): Promise<RunSummary[]> {
  const { rows } = await db.query<RunRow>(RUNS(runId !== null), runId === null ? [] : [runId]);
  return rows.map(summaryOf);
}

/** As SqliteStore.hosts(): each host with the run of its most recently seen agent. */
export async function hostsPg(db: Db): Promise<HostSeen[]> {
  const { rows } = await db.query<{ host: string; runId: string; lastSeen: number }>(
    `SELECT host, "runId", "lastSeen" FROM (
       SELECT DISTINCT ON (h.hid) h.name AS host, r.id AS "runId", a.last_seen AS "lastSeen"
       FROM agents a JOIN hosts h ON h.hid = a.hid JOIN runs r ON r.rid = a.rid ORDER BY h.hid, a.last_seen DESC
     ) x ORDER BY host COLLATE "C"`,
  );
  const { rows: gpus } = await db.query<{ host: string; index: number; name: string }>('SELECT h.name AS host, g.idx AS "index", g.name FROM gpus g JOIN hosts h ON h.hid = g.hid ORDER BY g.idx');
  return rows.map((r) => ({ ...r, gpus: gpus.filter((g) => g.host === r.host).map(({ index, name }) => ({ index, name })) }));
}

const MARK_COLUMNS = 'h.name AS host, m.t, m.kind, m.stage, m.step, m.rank, m.gauges, m.source, m.timing, m.category, m.dropped, m.inferred';

export async function marksWhere(db: Db, where: string, args: unknown[]): Promise<StoredMark[]> {
  const { rows } = await db.query<MarkRow & { host: string }>(`SELECT ${MARK_COLUMNS} FROM marks m JOIN hosts h ON h.hid = m.hid WHERE ${where} ORDER BY m.t, m.mid`, args);
  return rows.map(markFromRow);
}

export interface BlockRowPg {
  bid: number;
  n: number;
  source: number;
  data: Buffer;
}

/**
 * Blocks decoded, numbered as the SQLite store numbers samples (s0: the sum of the sizes of the
 * blocks stored before), here in bid order: the order the collectors inserted them.
 */
export function numbered(rows: readonly BlockRowPg[]): HostBlock[] {
  let s0 = 0;
  return [...rows]
    .sort((a, b) => a.bid - b.bid)
    .map((r) => {
      const b = hostBlock({ s0, n: r.n, source: r.source, data: r.data });
      s0 += r.n;
      return b;
    });
}

/**
 * A host's samples in (time, ordinal) order, as BlockReads.forEach gives them. The blocks a live
 * view starts from are few (minutes of one host), so they are all held and sorted rather than merged.
 */
export function samplesOf(blocks: readonly HostBlock[], host: string, nameOf: (id: number) => string, since = -Infinity): StoredSample[] {
  const at: Array<[HostBlock, number]> = [];
  for (const b of blocks) for (let i = 0; i < b.n; i++) if ((b.t[i] as number) >= since) at.push([b, i]);
  at.sort(([x, i], [y, j]) => (x.t[i] as number) - (y.t[j] as number) || x.s0 + i - (y.s0 + j));
  return at.map(([b, i]) => sampleOf(b, i, host, nameOf));
}

/** As SqliteStore.recent(): a host's samples since t in the run it streams to now, and the run's marks of that host. */
export async function recentPg(db: Db, host: string, since: number, namesFor: NamesFor): Promise<RecentData> {
  const { rows: cur } = await db.query<{ rid: number; hid: number; runId: string }>(
    'SELECT a.rid, a.hid, r.id AS "runId" FROM agents a JOIN hosts h ON h.hid = a.hid JOIN runs r ON r.rid = a.rid WHERE h.name = $1 ORDER BY a.last_seen DESC LIMIT 1',
    [host],
  );
  const c = cur[0];
  if (!c) return { runId: null, samples: [], marks: [] };
  const { rows } = await db.query<BlockRowPg>('SELECT bid, n, source, data FROM blocks WHERE rid = $1 AND hid = $2 AND t1 >= $3', [c.rid, c.hid, since]);
  const { rows: rolled } = await db.query<BlockRowPg>('SELECT bid, n, source, data FROM rollups WHERE rid = $1 AND hid = $2 AND t1 >= $3 ORDER BY t0, bid', [c.rid, c.hid, since]);
  const marks = await marksWhere(db, 'm.rid = $1 AND m.hid = $2 AND m.timing IS NULL', [c.rid, c.hid]);
  const raw = numbered(rows);
  if (rolled.length === 0) return { runId: c.runId, samples: samplesOf(raw, host, await namesFor(raw), since), marks };
  // Roll-ups (retention) in the window: merged with the raw blocks as the SQLite store's reads
  // merge them (finest-rows.ts, block-merge.ts): blocks in order of first time, a roll-up before
  // a raw block of the same, roll-ups numbered 0 (before raw readings of the same time).
  const rolledBlocks = rolled.map((r) => hostBlock({ s0: 0, n: r.n, source: r.source, data: r.data }));
  const ordered = [...raw].sort((a, b) => (a.t[0] as number) - (b.t[0] as number) || a.s0 - b.s0);
  const blocks: HostBlock[] = [];
  for (let i = 0, j = 0; i < ordered.length || j < rolledBlocks.length; ) {
    const a = ordered[i];
    const b = rolledBlocks[j];
    if (a && (!b || (a.t[0] as number) < (b.t[0] as number))) blocks.push(ordered[i++] as HostBlock);
    else blocks.push(rolledBlocks[j++] as HostBlock);
  }
  const nameOf = await namesFor(blocks);
  const samples: StoredSample[] = [];
  let k = 0;
  mergeBlocks(() => blocks[k++], (b, i) => (b.t[i] as number) >= since && samples.push(sampleOf(b, i, host, nameOf)));
  return { runId: c.runId, samples, marks };
}
