import { writeFileSync } from 'node:fs';
import { numberFlag, parseFlags, UsageError } from '@stagewatch/shared';
import { COMPARE_FORMATS, renderCompare, type CompareFormat } from '../report/compare-render.js';
import { makeCompare, type CompareRequest } from '../report/compare-load.js';
import { SqliteStore } from '../store/sqlite.js';

/** Flags shared by the CLI and the HTTP API, checked the same way. */
export function compareRequest(v: { baseline?: unknown; runs: readonly string[]; metrics?: unknown; by?: unknown; confidence?: unknown }): CompareRequest {
  if (typeof v.baseline !== 'string' || v.baseline === '') throw new UsageError('--baseline RUN is required');
  const by = v.by ?? 'config';
  if (by !== 'config' && by !== 'run') throw new UsageError(`--by must be config or run (got ${JSON.stringify(by)})`);
  const metrics = typeof v.metrics === 'string' ? v.metrics.split(',').map((m) => m.trim()).filter(Boolean) : undefined;
  if (metrics && metrics.length === 0) throw new UsageError('--metrics names no metric');
  const confidence = numberFlag({ confidence: v.confidence }, 'confidence', 0.5, 0.999, 0.95);
  return { baseline: v.baseline, runs: v.runs, ...(metrics ? { metrics } : {}), by, confidence };
}

export const COMPARE_FLAGS = {
  baseline: { type: 'string' },
  metrics: { type: 'string' },
  format: { type: 'string' },
  by: { type: 'string' },
  confidence: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
} as const;

/** `compare --baseline RUN RUN... [--metrics a,b] [--format md|json|html|csv] [--by config|run] [--confidence 0.95] [--data DIR] [--out FILE]` */
export async function compareCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, COMPARE_FLAGS, true);
  const format = (values.format ?? 'md') as CompareFormat;
  if (!COMPARE_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${COMPARE_FORMATS.join(', ')} (got ${JSON.stringify(values.format)})`);
  const req = compareRequest({ ...values, runs: positionals });
  if (positionals.filter((r) => r !== req.baseline).length === 0) throw new UsageError('give the runs to compare with the baseline after the flags');
  const store = new SqliteStore((values.data as string | undefined) ?? './stagewatch-data', { mustExist: true });
  try {
    const text = renderCompare(makeCompare(store, req), format);
    if (typeof values.out === 'string') writeFileSync(values.out, text);
    else process.stdout.write(text);
  } finally {
    store.close();
  }
  return 0;
}
