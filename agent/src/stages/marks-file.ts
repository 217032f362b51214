import { CaptureMarkSchema, StagewatchError, WorkloadMarkSchema, type Mark } from '@stagewatch/shared';

/**
 * Reads marks from JSON lines: the marks.jsonl form (`t_ns`, PyTorch `reserved_mb`...) or the
 * form a workload posts to STAGEWATCH_MARKS_URL (with `t` in epoch ms). A bad line is an error
 * naming its number; no mark is half-read.
 */
export function parseMarksFile(text: string, source: Mark['source'], what: string): Mark[] {
  const marks: Mark[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new StagewatchError('marks', `${what} line ${i + 1}: invalid JSON: ${(e as Error).message}`);
    }
    if (raw !== null && typeof raw === 'object' && 't_ns' in raw) {
      const p = CaptureMarkSchema.safeParse(raw);
      if (!p.success) throw new StagewatchError('marks', `${what} line ${i + 1}: ${issue(p.error.issues)}`);
      const m = p.data;
      const gauges: Record<string, number> = {};
      if (m.reserved_mb !== undefined) gauges.torch_reserved_mib = m.reserved_mb;
      if (m.allocated_mb !== undefined) gauges.torch_allocated_mib = m.allocated_mb;
      if (m.max_reserved_mb !== undefined) gauges.torch_max_reserved_mib = m.max_reserved_mb;
      marks.push({
        t: m.t_ns / 1e6,
        kind: m.kind,
        stage: m.stage,
        source,
        ...(m.step !== undefined ? { step: m.step } : {}),
        ...(m.rank !== undefined ? { rank: m.rank } : {}),
        ...(Object.keys(gauges).length > 0 ? { gauges } : {}),
      });
      return;
    }
    const p = WorkloadMarkSchema.safeParse(raw);
    if (!p.success) throw new StagewatchError('marks', `${what} line ${i + 1}: ${issue(p.error.issues)}`);
    if (p.data.t === undefined) throw new StagewatchError('marks', `${what} line ${i + 1}: a mark in a file needs "t" (epoch ms) or "t_ns"`);
    const { t, ...rest } = p.data;
    marks.push({ ...rest, t, source });
  });
  return marks;
}

export function issue(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string {
  const i = issues[0];
  return `${i?.path.map(String).join('.') || '(root)'}: ${i?.message ?? 'invalid'}`;
}
