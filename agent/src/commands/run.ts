import { readFileSync } from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { errorMessage, makeLogger, UsageError } from '@stagewatch/shared';
import { runConfig } from '../config/config.js';
import type { Environment } from '../config/environment.js';
import { LineSplitter, loadPreset, LogStageTracker } from '../stages/log-rules.js';
import { parseMarksFile } from '../stages/marks-file.js';
import { startMarksServer } from '../stages/marks-server.js';
import { startStreaming } from '../streaming.js';
import { destination } from '../transport/run-file.js';
import { onDcgmPauseSignal } from './signals.js';

/**
 * `run --collector URL [flags] -- <command> [args...]`: runs the workload, passes its output and
 * exit status through unchanged, samples it, turns its log lines and posted marks into stages,
 * and ends the run when it exits.
 */
export async function runCommand(argv: string[], env: Environment): Promise<number> {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new UsageError('give the workload after --, e.g. run --collector ws://c:7711 -- python generate.py');
  const command = argv.slice(dash + 1);
  const config = runConfig(argv.slice(0, dash), env);
  const log = makeLogger('stagewatch-agent', { ...config.logging, timestamps: false });
  const tracker = config.stages
    ? new LogStageTracker('file' in config.stages ? loadPreset(config.stages.file, true) : loadPreset(config.stages.preset, false))
    : null;
  // A collector that refuses us for good does not stop the workload: its data stays spooled.
  const onFatal = (msg: string): void => log(`ERROR: the collector refuses this run (${msg}); the workload goes on, its data stays in ${config.spoolDir} and goes out once the agent is configured right`);
  const pipeline = await startStreaming({ ...config, log, onFatal });
  const marksServer = await startMarksServer((marks) => pipeline.marks(marks), log, (w) => pipeline.workload(w));
  log(`run ${config.runId}: streaming to ${destination(config.collectors, config.out)}; marks at ${marksServer.url}`);

  const child = spawn(command[0] as string, command.slice(1), {
    stdio: ['inherit', 'pipe', 'pipe'],
    // The workload inherits the agent's environment, plus where to post its marks.
    env: { ...env, STAGEWATCH_MARKS_URL: marksServer.url, STAGEWATCH_FINGERPRINT_URL: marksServer.fingerprintUrl, STAGEWATCH_RUN_ID: config.runId },
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid !== undefined) pipeline.watchPid(child.pid);
  for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    // Bytes go through untouched; a decoded copy feeds the log rules.
    from.pipe(to, { end: false });
    if (tracker) {
      const split = new LineSplitter();
      const decoder = new StringDecoder('utf8');
      from.on('data', (chunk: Buffer) => {
        const now = Date.now();
        for (const line of split.push(decoder.write(chunk))) pipeline.marks(tracker.line(line, now));
        // A bar tqdm just drew has no line end until its next redraw: read it now, when it was printed.
        if (split.tail() !== '') pipeline.marks(tracker.line(split.tail(), now, true));
      });
    }
  }
  const stopPauseToggle = onDcgmPauseSignal(pipeline, log);
  // The signal the agent passed on: the workload was interrupted even if it then exits with a code of its own.
  let forwarded: NodeJS.Signals | null = null;
  const forward = (sig: NodeJS.Signals): void => {
    forwarded ??= sig;
    child.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const exit = await Promise.race([
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('close', (code, signal) => resolve({ code, signal }))),
    spawnError.then((e) => ({ code: null, signal: null, error: e })),
  ]);
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  stopPauseToggle();
  const ended = Date.now();
  if ('error' in exit) log(`could not start ${JSON.stringify(command[0])}: ${errorMessage(exit.error)}`);
  if (tracker) pipeline.marks(tracker.finish(ended));
  if (config.marksFile !== undefined) {
    try {
      pipeline.marks(parseMarksFile(readFileSync(config.marksFile, 'utf8'), 'file', config.marksFile));
    } catch (e) {
      log(`WARNING: marks from ${config.marksFile} not sent: ${errorMessage(e)}`);
    }
  }
  const { exitCode, signal } = workloadOutcome(exit, forwarded);
  if (signal) log(`run ${config.runId}: workload interrupted by ${signal} (exit ${exitCode})`);
  pipeline.endRun({ t: ended, exitCode, ...(signal ? { signal } : {}) });
  await marksServer.close();
  const summary = await pipeline.shutdown(config.drainMs);
  log(`run ${config.runId} ended (exit ${exitCode}): ${JSON.stringify(summary)}`);
  return exitCode;
}

/**
 * The exit code `run` passes on and records: the workload's own, or 128+N when signal N ended it
 * (the shell's convention: 130 for SIGINT, 143 for SIGTERM), 127 when it could not start. The
 * signal is the one it died of, else the one the agent forwarded to it (interrupted either way).
 */
export function workloadOutcome(
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error },
  forwarded: NodeJS.Signals | null,
): { exitCode: number; signal: NodeJS.Signals | null } {
  if (exit.signal) return { exitCode: 128 + (os.constants.signals[exit.signal] ?? 0), signal: exit.signal };
  if (exit.code === null) return { exitCode: 127, signal: null };
  return { exitCode: exit.code, signal: forwarded };
}
