// What the web UI exposes for tests on window (see collector/ui/app.ts).
interface Window {
  __stagewatch: {
    ready: boolean;
    error: string | null;
    live?: { page: 'host'; updates: number; points: number; lastT: number; bands: number; stage: string; dropped: number };
    run?: { page: 'run'; stages: number; compareRows: number; charts: number };
    compare?: { page: 'compare'; rows: number; metrics: number };
  };
}
