import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { errorMessage, loggerFromFlags, numberFlag, parseFlags, RunLabelsSchema, UsageError, type RunLabels } from '@stagewatch/shared';
import { LineSplitter, loadPreset, LogStageTracker } from '../stages/log-rules.js';
import { parseMarksFile } from '../stages/marks-file.js';
import { startMarksServer } from '../stages/marks-server.js';
import { startStreaming } from '../streaming.js';
import { destination } from '../transport/run-file.js';
import { onDcgmPauseSignal, STREAM_FLAGS, streamOptions } from './daemon.js';

/** `--label key=value` flags (repeatable) into the run's labels; a bad one is named. */
export function parseLabels(flags: readonly string[]): RunLabels {
  const labels: Record<string, string> = {};
  for (const f of flags) {
    const eq = f.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label ${JSON.stringify(f)}: give key=value, e.g. --label config=fsdp_ffn_only`);
    const key = f.slice(0, eq);
    if (key in labels) throw new UsageError(`--label ${key} given twice`);
    labels[key] = f.slice(eq + 1);
  }
  const p = RunLabelsSchema.safeParse(labels);
  if (!p.success) {
    const i = p.error.issues[0];
    throw new UsageError(`--label ${i?.path.map(String).join('.') || ''}: ${i?.message ?? 'invalid'}`);
  }
  return p.data;
}

/** Every flag `run` takes: the streaming ones, where stages come from, and the run's labels. */
export const RUN_FLAGS = {
  ...STREAM_FLAGS,
  preset: { type: 'string' },
  stages: { type: 'string' },
  marks: { type: 'string' },
  label: { type: 'string', multiple: true },
} as const;

export function generateRunId(host: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${host.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40)}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * `run --collector URL [flags] -- <command> [args...]`: runs the workload, passes its output and
 * exit status through unchanged, samples it, turns its log lines and posted marks into stages,
 * and ends the run when it exits.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  if (dash < 0 || dash === argv.length - 1) throw new UsageError('give the workload after --, e.g. run --collector ws://c:7711 -- python generate.py');
  const command = argv.slice(dash + 1);
  const { values } = parseFlags(argv.slice(0, dash), RUN_FLAGS);
  const labels = parseLabels((values.label as unknown as string[] | undefined) ?? []);
  delete values.label;
  const log = loggerFromFlags('stagewatch-agent', values, false);
  const host = typeof values.host === 'string' ? values.host : os.hostname();
  const opts = streamOptions({ 'interval-ms': '100', ...values, 'run-id': (values['run-id'] as string | undefined) ?? generateRunId(host) }, log);
  const drainMs = numberFlag(values, 'drain-s', 0, 3600, 30) * 1000;
  const tracker = values.stages !== undefined || values.preset !== undefined
    ? new LogStageTracker(typeof values.stages === 'string' ? loadPreset(values.stages, true) : loadPreset(values.preset as string, false))
    : null;
  // A collector that refuses us for good does not stop the workload: its data stays spooled.
  const onFatal = (msg: string): void => log(`ERROR: the collector refuses this run (${msg}); the workload goes on, its data stays in ${opts.spoolDir} and goes out once the agent is configured right`);
  const streaming = await startStreaming({ ...opts, host, labels, onFatal });
  const { streamer } = streaming.link;
  const marksServer = await startMarksServer((marks) => streamer.addMarks(marks), log, (w) => streamer.setWorkload(w));
  log(`run ${opts.runId}: streaming to ${destination(opts.collector, opts.out)}; marks at ${marksServer.url}`);

  const child = spawn(command[0] as string, command.slice(1), {
    stdio: ['inherit', 'pipe', 'pipe'],
    env: { ...process.env, STAGEWATCH_MARKS_URL: marksServer.url, STAGEWATCH_FINGERPRINT_URL: marksServer.fingerprintUrl, STAGEWATCH_RUN_ID: opts.runId as string },
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  if (child.pid !== undefined) streaming.sampling.watchPid(child.pid);
  for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
    // Bytes go through untouched; a decoded copy feeds the log rules.
    from.pipe(to, { end: false });
    if (tracker) {
      const split = new LineSplitter();
      const decoder = new StringDecoder('utf8');
      from.on('data', (chunk: Buffer) => {
        const now = Date.now();
        for (const line of split.push(decoder.write(chunk))) streamer.addMarks(tracker.line(line, now));
        // A bar tqdm just drew has no line end until its next redraw: read it now, when it was printed.
        if (split.tail() !== '') streamer.addMarks(tracker.line(split.tail(), now, true));
      });
    }
  }
  const stopPauseToggle = onDcgmPauseSignal(streaming.sampling, log);
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
  if (tracker) streamer.addMarks(tracker.finish(ended));
  if (typeof values.marks === 'string') {
    try {
      streamer.addMarks(parseMarksFile(readFileSync(values.marks, 'utf8'), 'file', values.marks));
    } catch (e) {
      log(`WARNING: marks from ${values.marks} not sent: ${errorMessage(e)}`);
    }
  }
  const { exitCode, signal } = workloadOutcome(exit, forwarded);
  if (signal) log(`run ${opts.runId}: workload interrupted by ${signal} (exit ${exitCode})`);
  streamer.endRun(ended, exitCode, signal ?? undefined);
  await marksServer.close();
  const summary = await streaming.stop(drainMs);
  log(`run ${opts.runId} ended (exit ${exitCode}): ${JSON.stringify(summary)}`);
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
