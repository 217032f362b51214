import { probe, resolveNvidiaSmi } from '../probe.js';
import { parseFlags } from '@stagewatch/shared';

export async function probeCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { json: { type: 'boolean' } });
  const r = await probe({ smiPath: await resolveNvidiaSmi() });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const lines = [
    `host      ${r.host.hostname}: ${r.host.cpus} CPUs, ${r.host.memTotalMib} MiB`,
    `nvidia-smi ${r.nvidiaSmi.path ?? '-'} ${r.nvidiaSmi.version ?? ''}${r.nvidiaSmi.error ? ` ERROR: ${r.nvidiaSmi.error}` : ''}`,
    ...r.gpus.map((g) => `GPU ${g.index}     ${g.name} ${g.uuid} ${g.memTotalMib ?? '?'} MiB, MIG ${g.migMode ?? 'n/a'}`),
    `GPM       ${r.gpm ? `yes (metrics ${r.gpmIds.join(',')})` : `no${r.gpmError ? ` (${r.gpmError})` : ''}`}`,
    `fields    ${r.fields.supported.length} supported${r.fields.unsupported.length ? `; unsupported: ${r.fields.unsupported.join(', ')}` : ''}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
