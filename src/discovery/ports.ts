/** Named port sets for the Discover page and `patchdeck discover --ports`. */
export const PORT_PRESETS = {
  /** Management, Windows services, web and VNC: enough to tell what a machine is. */
  default: [22, 135, 139, 445, 3389, 5985, 5986, 80, 443, 5900],
  /** Just what decides how Patchdeck can manage a machine. */
  quick: [22, 3389, 5985, 445],
  'full-windows': [135, 139, 445, 3389, 5985, 5986, 80, 443, 88, 389, 636, 3268, 53, 1433, 5357],
  linux: [22, 80, 443, 111, 2049, 3306, 5432, 9090, 10050],
  ssh: [22],
} as const satisfies Record<string, readonly number[]>;

export type PortPreset = keyof typeof PORT_PRESETS;

export function isPortPreset(name: string): name is PortPreset {
  return Object.hasOwn(PORT_PRESETS, name);
}

/**
 * Parses "22,80,8000-8010" or a preset name into a sorted-by-appearance unique list.
 * Throws a readable Error for anything else (the CLI and API turn it into a message).
 */
export function parsePorts(spec: string | readonly number[]): number[] {
  if (typeof spec !== 'string') return validate([...spec]);
  const trimmed = spec.trim();
  if (isPortPreset(trimmed)) return [...PORT_PRESETS[trimmed]];
  const ports: number[] = [];
  for (const part of trimmed.split(/[\s,]+/u).filter(Boolean)) {
    const range = /^(\d{1,5})-(\d{1,5})$/u.exec(part);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to < from) throw new Error(`Port range "${part}" ends before it starts.`);
      if (to - from > 65535) throw new Error(`Port range "${part}" is too large.`);
      for (let p = from; p <= to; p++) ports.push(p);
    } else if (/^\d{1,5}$/u.test(part)) ports.push(Number(part));
    else
      throw new Error(
        `"${part.slice(0, 40)}" is not a port, a port range or a preset (${Object.keys(PORT_PRESETS).join(', ')}).`,
      );
  }
  return validate(ports);
}

function validate(ports: number[]): number[] {
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`Port ${String(p)} is outside 1–65535.`);
  }
  const unique = [...new Set(ports)];
  if (unique.length === 0) throw new Error('No ports given.');
  return unique;
}
