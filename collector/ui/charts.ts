import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Band {
  start: number; // seconds
  end: number;
  name: string;
}

const BAND_FILL = ['rgba(9,105,218,0.08)', 'rgba(191,135,0,0.10)', 'rgba(45,164,78,0.09)', 'rgba(130,80,223,0.09)', 'rgba(207,34,46,0.07)'];
const PALETTE = ['#0969da', '#cf222e', '#2da44e', '#bf8700', '#8250df', '#1b7c83', '#e16f24', '#57606a'];

/** Stage bands drawn under the series, the stage name at the top of each. */
function bandsPlugin(getBands: () => Band[]): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const ctx = u.ctx;
        const { top, height } = u.bbox;
        getBands().forEach((b, i) => {
          const x0 = u.valToPos(b.start, 'x', true);
          const x1 = u.valToPos(b.end, 'x', true);
          if (x1 < u.bbox.left || x0 > u.bbox.left + u.bbox.width) return;
          ctx.fillStyle = BAND_FILL[i % BAND_FILL.length] as string;
          ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
          ctx.fillStyle = '#57606a';
          ctx.font = `${11 * devicePixelRatio}px system-ui`;
          ctx.fillText(b.name, Math.max(x0, u.bbox.left) + 4, top + 14 * devicePixelRatio);
        });
      },
    },
  };
}

export interface SeriesDef {
  label: string;
  dash?: boolean;
}

/** A time chart (x in seconds) with stage bands. */
export function makeChart(el: HTMLElement, title: string, unit: string, defs: SeriesDef[], getBands: () => Band[], width: number): uPlot {
  const opts: uPlot.Options = {
    title,
    width,
    height: 220,
    plugins: [bandsPlugin(getBands)],
    scales: { x: { time: true } },
    axes: [{}, { label: unit, size: 60 }],
    series: [
      {},
      ...defs.map((d, i) => ({
        label: d.label,
        stroke: PALETTE[i % PALETTE.length] as string,
        width: 1.5,
        spanGaps: true,
        ...(d.dash ? { dash: [6, 4] } : {}),
      })),
    ],
  };
  return new uPlot(opts, [[], ...defs.map(() => [])] as uPlot.AlignedData, el);
}
