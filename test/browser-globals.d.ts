// What the web UI exposes for tests on window (see collector/ui/app.ts).
interface Window {
  __stagewatch: {
    ready: boolean;
    error: string | null;
    auth?: boolean;
    home?: { page: 'home'; runs: number; selected: string[] };
    live?: import('../collector/ui/live.js').LiveState;
    run?: { page: 'run'; stages: number; compareRows: number; charts: number };
    compare?: { page: 'compare'; rows: number; metrics: number };
  };
}
