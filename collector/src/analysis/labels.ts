/**
 * The state and label vocabulary, on its own so the web UI can import it without zod.
 * Earlier versions said gpu-compute, gpu-waiting and host-cpu (docs/REPORT.md, "Renamed labels").
 */
/** What a GPU (or, without GPUs, the host) was doing in one interval of the time grid. */
export const STATES = ['compute', 'communication', 'waiting', 'host-bound', 'io', 'idle'] as const;
export type State = (typeof STATES)[number];
/**
 * A stage's label: the state that held most of its time, else `mixed`; `no-data` where no reading
 * covers any of it (calling that `mixed` would claim states shared time nobody saw).
 */
export const LABELS = [...STATES, 'mixed', 'no-data'] as const;
export type Label = (typeof LABELS)[number];
/** Fractions of covered time per state. */
export type Shares = Record<State, number>;
