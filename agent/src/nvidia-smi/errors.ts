/** Why an nvidia-smi invocation failed, from what it printed and its exit status. */
export type SmiFailureCode =
  | 'not-found'
  | 'invalid-field'
  | 'no-devices'
  | 'driver'
  | 'gpu-lost'
  | 'gpm-invalid'
  | 'gpm-unsupported'
  | 'permission'
  | 'hang'
  | 'garbage'
  | 'failed';

export interface SmiFailure {
  code: SmiFailureCode;
  message: string;
  /** For `invalid-field`: the field nvidia-smi rejected. */
  field?: string;
}

/** nvidia-smi prints most errors on stdout, so both streams are read. */
export function classifySmiFailure(output: string, exitCode: number | null, spawnError?: string): SmiFailure {
  const text = output.trim();
  const first = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('exit='))?.trim() ?? '';
  const status = exitCode === null ? '' : ` (exit ${exitCode})`;
  if (spawnError === 'ENOENT') return { code: 'not-found', message: 'nvidia-smi not found' };
  if (spawnError === 'EACCES') return { code: 'permission', message: 'nvidia-smi is not executable' };
  const field = /Field "([^"]+)" is not a valid field to query/.exec(text);
  if (field) return { code: 'invalid-field', field: field[1] as string, message: `${field[0]}${status}` };
  if (/No devices were found/.test(text)) return { code: 'no-devices', message: `No devices were found${status}` };
  if (/couldn't communicate with the NVIDIA driver|NVML: Driver\/library version mismatch|Failed to initialize NVML/i.test(text)) {
    return { code: 'driver', message: `${first}${status}` };
  }
  if (/GPU is lost|Unable to determine the device handle/i.test(text)) return { code: 'gpu-lost', message: `${first}${status}` };
  if (/Could not parse GPM metrics|Metric value too high/.test(text)) return { code: 'gpm-invalid', message: `${first}${status}` };
  if (/GPM.*not supported|not supported.*GPM/i.test(text)) return { code: 'gpm-unsupported', message: `${first}${status}` };
  if (/Insufficient Permissions|permission denied/i.test(text)) return { code: 'permission', message: `${first}${status}` };
  const what = first || spawnError || 'no output';
  return { code: 'failed', message: `nvidia-smi failed: ${what}${status}` };
}
