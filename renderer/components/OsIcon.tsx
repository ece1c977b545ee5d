const LABELS: Record<string, string> = {
  linux: 'Linux',
  windows: 'Windows',
  macos: 'macOS',
  bsd: 'BSD',
  'network-device': 'network device',
  unknown: 'unknown OS',
};
const GLYPHS: Record<string, string> = {
  linux: 'L',
  windows: 'W',
  macos: 'M',
  bsd: 'B',
  'network-device': 'N',
  unknown: '?',
};

/** A small badge for the OS family; its name is the accessible label (the glyph is decoration). */
export function OsIcon({ family }: { family: string | null }) {
  const key = family && family in LABELS ? family : 'unknown';
  return (
    <span className={`os-icon os-${key}`} role="img" aria-label={LABELS[key]} title={LABELS[key]}>
      {GLYPHS[key]}
    </span>
  );
}
