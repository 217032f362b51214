// What the web UI exposes for tests on window (see collector/ui/app.ts).
interface Window {
  __stagewatch: {
    ready: boolean;
    error: string | null;
    auth?: boolean;
    home?: { page: 'home'; runs: number; selected: string[] };
    live?: {
      page: 'host';
      updates: number;
      points: number;
      lastT: number;
      bands: number;
      stage: string;
      dropped: number;
      stale: boolean;
      windowMs: number;
      charts: number;
      xSpanMs: number;
      yRanges: Record<string, [number, number]>;
    };
    run?: { page: 'run'; stages: number; compareRows: number; charts: number };
    compare?: { page: 'compare'; rows: number; metrics: number };
  };
}
