/**
 * Roll-ups of readings (rollup.ts): blocks in the stored block format (blocks.ts, with min and
 * max columns), by resolution (res: the bucket, ms). They are not numbered as raw readings are
 * (no s0): sinks export raw readings only, before they are pruned (pruner.ts).
 * `next_seq` in meta keeps the number the next raw reading gets once the newest raw blocks may
 * be gone (SqliteStore and the sink cursors count on numbers never being reused).
 */
export const ROLLUPS_SCHEMA = `
CREATE TABLE IF NOT EXISTS rollups(
  bid INTEGER PRIMARY KEY,
  rid INTEGER NOT NULL, hid INTEGER NOT NULL,
  res INTEGER NOT NULL CHECK (res IN (1000, 10000)),
  t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,
  n INTEGER NOT NULL,
  source INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS rollups_run_host_t0 ON rollups(rid, hid, t0);
CREATE INDEX IF NOT EXISTS rollups_run_host_t1 ON rollups(rid, hid, t1);
CREATE INDEX IF NOT EXISTS rollups_run_host_res_t0 ON rollups(rid, hid, res, t0);
`;

/** meta key: the sequence number the next raw reading gets, kept when raw blocks are pruned. */
export const NEXT_SEQ_KEY = 'samples.next_seq';
