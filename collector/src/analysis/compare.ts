import type { Label } from './thresholds.js';
import type { Report, StageReport } from './report.js';
import { round } from './stats.js';
import { explain, explanationText, stageDiffers, type Explanation } from './why.js';

export interface StageComparison {
  stage: string;
  host_a: string;
  host_b: string;
  duration_s_a: number;
  duration_s_b: number;
  /** a / b: above 1 means run a was slower. */
  ratio: number | null;
  bottleneck_a: Label;
  bottleneck_b: Label;
  /** Where the stage differs (DIFFERS_RATIO): the host facts and stage figures bearing on its labels. */
  why: Explanation | null;
  text: string;
}

const LABELS: Record<string, string> = {
  request: 'Whole request',
  prompt_extend: 'Prompt extension',
  init: 'Model init',
  t5_encode: 'T5 encoding',
  denoise: 'Denoising',
  vae_decode: 'VAE decode',
  save: 'Saving',
};

export const stageLabel = (name: string): string => LABELS[name] ?? name;

/**
 * Stage by stage, run a against run b. Hosts pair by name where both runs have it, else in
 * order (host A of one run against host B of the other is the usual "why is A slower").
 */
export function compareReports(a: Report, b: Report): StageComparison[] {
  const out: StageComparison[] = [];
  const bHosts = new Map(b.hosts.map((h) => [h.host, h]));
  a.hosts.forEach((ha, i) => {
    const hb = bHosts.get(ha.host) ?? b.hosts[i];
    if (!hb) return;
    const used = new Set<StageReport>();
    for (const sa of ha.stages) {
      const sb = hb.stages.find((x) => x.name === sa.name && x.depth === sa.depth && !used.has(x));
      if (!sb) continue;
      used.add(sb);
      const ratio = sb.duration_s > 0 ? round(sa.duration_s / sb.duration_s, 2) : null;
      const why = stageDiffers(ratio) ? explain(sa, sb, ha.fingerprint, hb.fingerprint) : null;
      out.push({
        stage: sa.name,
        host_a: ha.host,
        host_b: hb.host,
        duration_s_a: sa.duration_s,
        duration_s_b: sb.duration_s,
        ratio,
        bottleneck_a: sa.bottleneck,
        bottleneck_b: sb.bottleneck,
        why,
        text: `${stageLabel(sa.name)}: ${sa.duration_s.toFixed(1)} s vs ${sb.duration_s.toFixed(1)} s, ${ratio === null ? 'n/a' : `${ratio.toFixed(1)}x`}, ${sa.bottleneck} vs ${sb.bottleneck}${why ? `; ${explanationText(why)}` : ''}`,
      });
    }
  });
  return out;
}
