import { writeFileSync } from 'node:fs';
import { parseFlags, UsageError } from '@stagewatch/shared';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.js';
import { makeReport, readThresholds, renderReport, REPORT_FORMATS, type ReportFormat } from '../report/index.js';
import { SqliteStore } from '../store/sqlite.js';

/** `report <runId> [--vs <runId>] [--format md|json|html] [--data DIR] [--thresholds FILE] [--out FILE]` */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { vs: { type: 'string' }, format: { type: 'string' }, data: { type: 'string' }, thresholds: { type: 'string' }, out: { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError(`give exactly one run id (got ${positionals.length})`);
  const format = (values.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')} (got ${JSON.stringify(values.format)})`);
  const thresholds = typeof values.thresholds === 'string' ? readThresholds(values.thresholds) : DEFAULT_THRESHOLDS;
  const store = new SqliteStore((values.data as string | undefined) ?? './stagewatch-data');
  try {
    const text = renderReport(makeReport(store, positionals[0] as string, values.vs as string | undefined, thresholds), format, store);
    if (typeof values.out === 'string') writeFileSync(values.out, text);
    else process.stdout.write(text);
  } finally {
    store.close();
  }
  return 0;
}
