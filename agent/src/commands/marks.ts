import { readFileSync } from 'node:fs';
import { errorMessage, makeLogger, UsageError } from '@stagewatch/shared';
import { marksConfig } from '../config/config.js';
import type { Environment } from '../config/environment.js';
import { AgentPipeline } from '../pipeline/pipeline.js';
import { parseMarksFile } from '../stages/marks-file.js';

/**
 * `marks --collector URL --run-id ID [--shift-ms N] FILE`: imports stage marks after the fact
 * (marks.jsonl form, or the JSON-lines form with `t`), on this host's clock, into a run.
 */
export async function marksCommand(argv: string[], env: Environment): Promise<number> {
  const config = marksConfig(argv, env);
  let text: string;
  try {
    text = readFileSync(config.file, 'utf8');
  } catch (e) {
    throw new UsageError(`${config.file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  const marks = parseMarksFile(text, 'file', config.file).map((m) => ({ ...m, t: m.t + config.shiftMs }));
  const log = makeLogger('stagewatch-agent', { ...config.logging, timestamps: false });
  // A spool of its own (unless --spool-dir names one): these marks are one batch with their own agent id and sequence.
  const pipeline = AgentPipeline.open({ ...config, log });
  pipeline.marks(marks);
  pipeline.flush();
  pipeline.connect({ gpus: [], capabilities: { gpm: false, fields: [] } });
  const summary = await pipeline.shutdown(config.drainMs);
  if (summary.unsent > 0) {
    log(`${marks.length} marks not yet acknowledged; they stay in ${config.spoolDir}`);
    return 1;
  }
  const outFile = summary.out ? summary.out.file : null;
  log(config.collectors.length > 0 ? `imported ${marks.length} marks into run ${config.runId}${outFile ? `; also written to ${outFile}` : ''}` : `wrote ${marks.length} marks for run ${config.runId} to ${outFile}`);
  return 0;
}
