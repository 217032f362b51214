import { writeFileSync } from 'node:fs';
import { NotFoundError } from '@stagewatch/shared';
import { DEFAULT_THRESHOLDS } from '../analysis/thresholds.js';
import { reportConfig } from '../config/config.js';
import { makeReport, readThresholds, renderReport } from '../report/index.js';
import { openReadStore } from '../store/read-store.js';
import { emptyReportNote } from '../report/empty.js';

/** `report <runId> [--vs <runId>] [--format md|json|html] [--data DIR] [--thresholds FILE] [--out FILE]` */
export async function reportCommand(argv: string[]): Promise<number> {
  const config = reportConfig(argv);
  const { runId, format } = config;
  const thresholds = config.thresholdsFile !== undefined ? readThresholds(config.thresholdsFile) : DEFAULT_THRESHOLDS;
  const store = await openReadStore(config.dataDir, config.pgUrl, config.vs === undefined ? [runId] : [runId, config.vs]);
  try {
    let report;
    try {
      report = makeReport(store, runId, config.vs, thresholds);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      const runs = store.listRuns().map((r) => r.id);
      const some = runs.slice(0, 8).join(', ') + (runs.length > 8 ? `, … (${runs.length} in all)` : '');
      throw new NotFoundError(`${e.message.replace(/ in the store$/, '')} in the store ${store.file}${runs.length ? `; runs there: ${some}` : '; it holds no runs'}`);
    }
    const note = emptyReportNote(report);
    const text = renderReport(report, format, store) + (note && format === 'md' ? `\n_${note}._\n` : '');
    if (config.out !== undefined) writeFileSync(config.out, text);
    else process.stdout.write(text);
    process.stderr.write(`stagewatch-collector report: run ${runId} from ${store.file}${note ? `: ${note}` : ''}\n`);
  } finally {
    store.close();
  }
  return 0;
}
