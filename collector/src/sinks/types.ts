import type { StoredMark, StoredSample } from '../store/rows.js';

/** A destination fed from the store, in the manner of an OpenTelemetry exporter or a Telegraf output. */
export interface Sink {
  readonly name: string;
  start(): void;
  /** New data was committed: write soon. */
  notify(): void;
  close(): Promise<void>;
}

/** Where a row lies in the store: its run and host row ids, for reads that follow it. */
export interface RowPlace {
  rowid: number;
  runId: string;
  rid: number;
  hid: number;
}

/** A range of rows a sink gave up on (the destination refused it for good), kept in the store. */
export interface SkippedRange {
  sink: string;
  /** Rows after `from` up to and including `to`, by rowid, in that table. */
  table: 'samples' | 'marks';
  from: number;
  to: number;
  at: number;
  error: string;
}

/**
 * What a sink reads from the store: the rows past its cursors, what it needs to tag them, and
 * its cursors (kept in the store, so a restart goes on where it stopped).
 */
export interface SinkSource {
  cursor(key: string): number;
  setCursor(key: string, value: number): void;
  samplesAfter(cursor: number, limit: number): Array<StoredSample & RowPlace>;
  marksAfter(cursor: number, limit: number): Array<StoredMark & RowPlace>;
  /** Marks of one run and host up to time t: enough to know which stage was open then. */
  marksUpTo(rid: number, hid: number, t: number): Array<{ t: number; kind: 'begin' | 'end'; stage: string; step?: number; rank?: number }>;
  /** Time of the latest begin of a stage (same step and rank) at or before t, or null. */
  latestBegin(rid: number, hid: number, stage: string, step: number | null, rank: number | null, t: number): number | null;
  maxRowids(): { samples: number; marks: number };
  /** GPU uuid and name by `host\u0000index`. */
  gpuTags(): Map<string, { uuid: string; name: string }>;
  recordSkip(skip: SkippedRange): void;
  skipped(sink: string): SkippedRange[];
}
