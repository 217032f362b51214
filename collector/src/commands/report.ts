import { writeFileSync } from 'node:fs';
import { NotFoundError, parseFlags, UsageError } from '@stagewatch/shared';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.js';
import { makeReport, readThresholds, renderReport, REPORT_FORMATS, type ReportFormat } from '../report/index.js';
import { SqliteStore } from '../store/sqlite.js';
import { emptyReportNote } from '../report/empty.js';

export const REPORT_FLAGS = { vs: { type: 'string' }, format: { type: 'string' }, data: { type: 'string' }, thresholds: { type: 'string' }, out: { type: 'string' } } as const;

/** `report <runId> [--vs <runId>] [--format md|json|html] [--data DIR] [--thresholds FILE] [--out FILE]` */
export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, REPORT_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(`give exactly one run id (got ${positionals.length})`);
  const format = (values.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(', ')} (got ${JSON.stringify(values.format)})`);
  const thresholds = typeof values.thresholds === 'string' ? readThresholds(values.thresholds) : DEFAULT_THRESHOLDS;
  const store = new SqliteStore((values.data as string | undefined) ?? './stagewatch-data', { mustExist: true });
  try {
    const runId = positionals[0] as string;
    let report;
    try {
      report = makeReport(store, runId, values.vs as string | undefined, thresholds);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      const runs = store.listRuns().map((r) => r.id);
      const some = runs.slice(0, 8).join(', ') + (runs.length > 8 ? `, … (${runs.length} in all)` : '');
      throw new NotFoundError(`${e.message.replace(/ in the store$/, '')} in the store ${store.file}${runs.length ? `; runs there: ${some}` : '; it holds no runs'}`);
    }
    const note = emptyReportNote(report);
    const text = renderReport(report, format, store) + (note && format === 'md' ? `\n_${note}._\n` : '');
    if (typeof values.out === 'string') writeFileSync(values.out, text);
    else process.stdout.write(text);
    process.stderr.write(`stagewatch-collector report: run ${runId} from ${store.file}${note ? `: ${note}` : ''}\n`);
  } finally {
    store.close();
  }
  return 0;
}
