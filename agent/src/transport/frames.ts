import type { IncomingMessage } from 'node:http';
import { BatchSchema, COLUMNAR, encodeBatchFrame, FRAMES_HEADER, type ClockEstimate } from '@stagewatch/shared';

/** How an agent sends its batches: JSON text, or columnar frames where the collector takes them. */
export const BATCH_FRAMES = ['json', 'columnar'] as const;
export type BatchFrames = (typeof BATCH_FRAMES)[number];

/** Whether the collector said at the upgrade that it takes columnar batch frames (FRAMES_HEADER). */
export function takesColumnar(res: IncomingMessage): boolean {
  return String(res.headers[FRAMES_HEADER] ?? '')
    .split(',')
    .some((k) => k.trim() === COLUMNAR);
}

/**
 * A spooled batch (JSON text) as it goes on the wire, with the clock estimate known now: a
 * columnar frame where the collector takes them (its samples a few bytes each, checked by
 * decoding instead of JSON parsing and zod), else the JSON text as older collectors read it. The
 * batch is validated first, as the collector validates JSON (a few µs a sample, at the agent's
 * tens of samples a second): one the schema refuses goes as JSON, for the collector to refuse by
 * name and the agent to quarantine, never encoded into something else (a null value into 0).
 */
/** A spooled batch (a JSON object's text) as the JSON frame, the clock known now put in front of its fields. */
export function jsonBatch(body: string, clock: ClockEstimate | null): string {
  return `{"clock":${JSON.stringify(clock)},${body.slice(1)}`;
}

export function wireBatch(body: string, clock: ClockEstimate | null, columnar: boolean): string | Uint8Array {
  const text = jsonBatch(body, clock);
  if (!columnar) return text;
  const parsed = BatchSchema.safeParse(JSON.parse(text));
  return parsed.success ? encodeBatchFrame(parsed.data) : text;
}
