import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorMessage, loggerFromFlags, numberFlag, parseFlags, UsageError } from '@stagewatch/shared';
import { parseMarksFile } from '../stages/marks-file.js';
import { Link } from '../streaming.js';
import { STREAM_FLAGS, streamOptions } from './daemon.js';

/** The streaming flags (so one config file serves daemon, run and marks) and the shift. */
export const MARKS_FLAGS = { ...STREAM_FLAGS, 'shift-ms': { type: 'string' } } as const;

/**
 * `marks --collector URL --run-id ID [--shift-ms N] FILE`: imports stage marks after the fact
 * (marks.jsonl form, or the JSON-lines form with `t`), on this host's clock, into a run.
 */
export async function marksCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, MARKS_FLAGS, true);
  if (positionals.length !== 1) throw new UsageError(`give exactly one marks file (got ${positionals.length})`);
  if (typeof values['run-id'] !== 'string') throw new UsageError('--run-id is required: marks belong to a run');
  const file = positionals[0] as string;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  const shift = numberFlag(values, 'shift-ms', -1e13, 1e13, 0);
  const marks = parseMarksFile(text, 'file', file).map((m) => ({ ...m, t: m.t + shift }));
  const log = loggerFromFlags('stagewatch-agent', values, false);
  // A spool of its own: these marks are one batch with their own agent id and sequence.
  const spoolDir = (values['spool-dir'] as string | undefined) ?? path.join(os.tmpdir(), `stagewatch-marks-${process.pid}-${Date.now()}`);
  const link = new Link({ ...streamOptions({ ...values, 'spool-dir': spoolDir }, log) });
  link.streamer.addMarks(marks);
  link.streamer.flush();
  link.connect([], { gpm: false, fields: [] });
  const summary = await link.close(numberFlag(values, 'drain-s', 0, 3600, 30) * 1000);
  if (summary.unsent > 0) {
    log(`${marks.length} marks not yet acknowledged; they stay in ${spoolDir}`);
    return 1;
  }
  const outFile = summary.out ? summary.out.file : null;
  log(link.client ? `imported ${marks.length} marks into run ${values['run-id']}${outFile ? `; also written to ${outFile}` : ''}` : `wrote ${marks.length} marks for run ${values['run-id']} to ${outFile}`);
  return 0;
}
