import { writeFileSync } from 'node:fs';
import { compareConfig } from '../config/config.js';
import { renderCompare } from '../report/compare-render.js';
import { makeCompare } from '../report/compare-load.js';
import { openReadStore } from '../store/read-store.js';

/** `compare --baseline RUN RUN... [--metrics a,b] [--format md|json|html|csv] [--by config|run] [--confidence 0.95] [--data DIR] [--out FILE]` */
export async function compareCommand(argv: string[]): Promise<number> {
  const config = compareConfig(argv);
  const store = await openReadStore(config.dataDir, config.pgUrl, [config.request.baseline, ...config.request.runs]);
  try {
    const text = renderCompare(makeCompare(store, config.request), config.format);
    if (config.out !== undefined) writeFileSync(config.out, text);
    else process.stdout.write(text);
  } finally {
    store.close();
  }
  return 0;
}
