/** Stage intervals from begin/end marks: pure, so it is tested without any process. */

export interface MarkLike {
  t: number;
  kind: 'begin' | 'end';
  stage: string;
  step?: number;
  rank?: number;
  /** The agent worked this boundary out rather than reading it (see Mark.inferred). */
  inferred?: string;
}

export interface StageInterval {
  name: string;
  step?: number;
  start: number;
  end: number;
  /** 0 for outermost; a stage inside another is one deeper. */
  depth: number;
  /** Ranks that marked this stage (several processes on one host). */
  ranks: number;
  /** True when no end mark came and the stage was closed at the end of the data. */
  unterminated: boolean;
  /** How the agent worked out a boundary no line or mark gave (from the begin mark, else the end mark). */
  inferred?: string;
}

const keyOf = (m: { stage: string; step?: number }): string => `${m.stage}\u0000${m.step ?? ''}`;

/**
 * Pairs each end with the latest open begin of the same stage (and step) on the same rank.
 * A begin never ended is closed at `endOfData` and flagged; an end with no begin is reported.
 * Ranks are merged: a stage spans from the first rank's begin to the last rank's end.
 */
export function buildStages(marks: readonly MarkLike[], endOfData: number): { stages: StageInterval[]; problems: string[] } {
  const problems: string[] = [];
  const open = new Map<string, Array<{ t: number; inferred?: string }>>();
  type Closed = { stage: string; step?: number; rank: number; start: number; end: number; unterminated: boolean; inferred?: string };
  const closed: Closed[] = [];
  const note = (a?: string, b?: string): { inferred?: string } => (a ?? b ? { inferred: (a ?? b) as string } : {});
  const sorted = [...marks].sort((a, b) => a.t - b.t || (a.kind === b.kind ? 0 : a.kind === 'end' ? -1 : 1));
  for (const m of sorted) {
    const k = `${m.rank ?? 0}\u0000${keyOf(m)}`;
    const stack = open.get(k) ?? [];
    if (m.kind === 'begin') {
      stack.push({ t: m.t, ...note(m.inferred) });
      open.set(k, stack);
    } else if (stack.length === 0) {
      problems.push(`end of ${describe(m)} at ${new Date(m.t).toISOString()} without a begin: ignored`);
    } else {
      const begin = stack.pop() as { t: number; inferred?: string };
      closed.push({ stage: m.stage, ...(m.step !== undefined ? { step: m.step } : {}), rank: m.rank ?? 0, start: begin.t, end: m.t, unterminated: false, ...note(begin.inferred, m.inferred) });
    }
  }
  for (const [k, stack] of open) {
    const [rank, stage, step] = k.split('\u0000') as [string, string, string];
    for (const begin of stack) {
      const s = { stage, ...(step !== '' ? { step: Number(step) } : {}) };
      problems.push(`${describe(s)} never ended: closed at the end of the data`);
      closed.push({ ...s, rank: Number(rank), start: begin.t, end: Math.max(begin.t, endOfData), unterminated: true, ...note(begin.inferred) });
    }
  }
  const merged = new Map<string, { stage: string; step?: number; start: number; end: number; ranks: Set<number>; unterminated: boolean; inferred?: string }[]>();
  for (const c of closed) {
    const k = keyOf(c);
    // The n-th occurrence of a stage on each rank is merged with the n-th on the others.
    const list = merged.get(k) ?? [];
    const slot = list.find((x) => !x.ranks.has(c.rank) && c.start < x.end && x.start < c.end);
    if (slot) {
      slot.start = Math.min(slot.start, c.start);
      slot.end = Math.max(slot.end, c.end);
      slot.ranks.add(c.rank);
      slot.unterminated ||= c.unterminated;
      slot.inferred ??= c.inferred;
    } else {
      list.push({ stage: c.stage, ...(c.step !== undefined ? { step: c.step } : {}), start: c.start, end: c.end, ranks: new Set([c.rank]), unterminated: c.unterminated, ...note(c.inferred) });
    }
    merged.set(k, list);
  }
  const flat = [...merged.values()].flat().sort((a, b) => a.start - b.start || b.end - a.end);
  const stack: StageInterval[] = [];
  const stages: StageInterval[] = [];
  for (const f of flat) {
    while (stack.length > 0 && !((stack.at(-1) as StageInterval).start <= f.start && f.end <= (stack.at(-1) as StageInterval).end)) stack.pop();
    const s: StageInterval = {
      name: f.stage,
      ...(f.step !== undefined ? { step: f.step } : {}),
      start: f.start,
      end: f.end,
      depth: stack.length,
      ranks: f.ranks.size,
      unterminated: f.unterminated,
      ...note(f.inferred),
    };
    stages.push(s);
    stack.push(s);
  }
  return { stages, problems };
}

function describe(m: { stage: string; step?: number }): string {
  return m.step === undefined ? `stage ${m.stage}` : `stage ${m.stage} step ${m.step}`;
}
