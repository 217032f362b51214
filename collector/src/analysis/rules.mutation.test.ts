/**
 * The mutation check, in the suite: every comparison, condition, rule order and default threshold
 * of the rule tables is changed one at a time, and some boundary case must notice. A mutant that
 * survives means a rule nobody pins.
 */
import { describe, expect, it } from 'vitest';
import { CELL_CASES, LABEL_CASES, OFFLOAD_CELL_CASES, OFFLOAD_STAGE_CASES } from './rules.cases.js';
import { CELL_RULES, classifyCell, LABEL_RULE, labelOf, OFFLOAD_CELL_RULE, OFFLOAD_STAGE_RULE, offloadCell, offloadStage, QUIET_HOST_RULE, type Condition, type Op, type Rule, type ThresholdKey } from './rules.js';
import { DEFAULT_THRESHOLDS, STATES, type Thresholds } from './thresholds.js';

const OPS: readonly Op[] = ['>=', '>', '<', '<=', 'absent', 'present'];
const sameShares = (a: Partial<Record<string, number>>, b: Partial<Record<string, number>>): boolean => STATES.every((s) => Math.abs((a[s] ?? 0) - (b[s] ?? 0)) < 1e-6);

/** Whether the boundary cases notice rules/thresholds differing from the real ones. */
function noticed(rules: readonly Rule[], label: Condition<'share'>, offCell: Condition<'h2d'>, offStage: Condition<'share'>, th: Thresholds, quiet: Condition<'thread'> = QUIET_HOST_RULE): boolean {
  return (
    CELL_CASES.some((c) => !sameShares(classifyCell(c.facts, th, rules, quiet), c.want)) ||
    LABEL_CASES.some((c) => labelOf(c.shares, th, label) !== c.want) ||
    OFFLOAD_CELL_CASES.some((c) => offloadCell(c.h2d, th, offCell) !== c.want) ||
    OFFLOAD_STAGE_CASES.some((c) => offloadStage(c.share, th, offStage) !== c.want)
  );
}

/** Every single change to one condition: each other operator, and the condition removed. */
function conditionMutants<F extends string>(c: Condition<F>): Array<Condition<F> | null> {
  return [...OPS.filter((op) => op !== c.op).map((op) => ({ ...c, op })), null];
}

interface Mutant {
  name: string;
  rules: readonly Rule[];
  label: Condition<'share'>;
  offCell: Condition<'h2d'>;
  offStage: Condition<'share'>;
  quiet: Condition<'thread'>;
  th: Thresholds;
}

function mutants(): Mutant[] {
  const base = { rules: CELL_RULES, label: LABEL_RULE, offCell: OFFLOAD_CELL_RULE, offStage: OFFLOAD_STAGE_RULE, quiet: QUIET_HOST_RULE, th: DEFAULT_THRESHOLDS };
  const out: Mutant[] = [];
  CELL_RULES.forEach((r, i) => {
    r.when.forEach((c, j) => {
      for (const m of conditionMutants(c)) {
        const when = m === null ? r.when.filter((_, k) => k !== j) : r.when.map((x, k) => (k === j ? m : x));
        out.push({ ...base, name: `rule ${i} (${r.state}) condition ${j} ${c.fact} ${c.op} -> ${m === null ? 'removed' : m.op}`, rules: CELL_RULES.map((x, k) => (k === i ? { ...x, when } : x)) });
      }
    });
    out.push({ ...base, name: `rule ${i} (${r.state}) removed`, rules: CELL_RULES.filter((_, k) => k !== i) });
    const next = CELL_RULES[i + 1];
    // Neighbours of one state hold on disjoint facts (absent/present), so swapping them changes nothing.
    if (next && next.state !== r.state) {
      out.push({ ...base, name: `rules ${i} (${r.state}) and ${i + 1} (${next.state}) swapped`, rules: CELL_RULES.map((x, k) => (k === i ? next : k === i + 1 ? r : x)) });
    }
  });
  const always = { fact: 'share', op: 'present' } as const;
  for (const m of conditionMutants(LABEL_RULE)) out.push({ ...base, name: `label rule -> ${m?.op ?? 'removed'}`, label: m ?? always });
  for (const m of conditionMutants(OFFLOAD_CELL_RULE)) out.push({ ...base, name: `offload interval rule -> ${m?.op ?? 'removed'}`, offCell: m ?? { fact: 'h2d', op: 'present' } });
  for (const m of conditionMutants(OFFLOAD_STAGE_RULE)) out.push({ ...base, name: `offload stage rule -> ${m?.op ?? 'removed'}`, offStage: m ?? always });
  for (const m of conditionMutants(QUIET_HOST_RULE)) out.push({ ...base, name: `quiet host rule -> ${m?.op ?? 'removed'}`, quiet: m ?? { fact: 'thread', op: 'present' } });
  // Each default threshold the tables use, nudged both ways by more than the cases' margins.
  const keys = new Set<ThresholdKey>([...CELL_RULES.flatMap((r) => r.when.flatMap((c) => (c.th ? [c.th] : []))), ...[LABEL_RULE, OFFLOAD_CELL_RULE, OFFLOAD_STAGE_RULE, QUIET_HOST_RULE].flatMap((c) => (c.th ? [c.th] : []))]);
  for (const k of keys) {
    const v = DEFAULT_THRESHOLDS[k];
    const step = v >= 1000 ? 2 : v >= 5 ? 0.02 : 0.0002;
    for (const d of [-step, step]) out.push({ ...base, name: `default ${k} ${v} -> ${v + d}`, th: { ...DEFAULT_THRESHOLDS, [k]: v + d } });
  }
  return out;
}

describe('mutation check of the rule tables', () => {
  const all = mutants();

  it('builds a mutant for every operator, condition, rule, neighbour pair and default threshold', () => {
    const conditions = CELL_RULES.reduce((a, r) => a + r.when.length, 0) + 4;
    expect(all.filter((m) => m.name.includes('->') && !m.name.startsWith('default')).length).toBe(conditions * OPS.length);
    expect(all.filter((m) => m.name.startsWith('default')).length).toBe(2 * 14);
    expect(all.length).toBeGreaterThan(150);
  });

  it('the real tables pass every case (so a noticed mutant is the mutation, not a broken case)', () => {
    expect(noticed(CELL_RULES, LABEL_RULE, OFFLOAD_CELL_RULE, OFFLOAD_STAGE_RULE, DEFAULT_THRESHOLDS)).toBe(false);
  });

  it('every mutant fails some boundary case', () => {
    const survivors = all.filter((m) => !noticed(m.rules, m.label, m.offCell, m.offStage, m.th, m.quiet)).map((m) => m.name);
    expect(survivors).toEqual([]);
  });
});
