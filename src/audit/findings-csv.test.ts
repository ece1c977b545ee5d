import { describe, expect, it } from 'vitest';
import { FINDINGS_CSV_COLUMNS, findingCsvRow, type CsvFinding } from './findings-csv';

const finding: CsvFinding = {
  hostName: 'web01',
  hostAddress: '198.18.0.11',
  os: 'AlmaLinux 9.4',
  package: 'toolbox',
  arch: 'noarch',
  kind: 'package',
  installedVersion: '0.0.99.3-9.el9',
  availableVersion: '0.0.99.3-10.el9_2',
  repository: 'appstream',
  security: true,
  severity: 'moderate',
  vendorSeverity: 'Moderate',
  advisories: ['ALSA-2023:6077'],
  held: false,
  rebootRequired: null,
  tier: 'kev',
  dueAt: '2023-10-31T23:59:59.999Z',
  cves: ['CVE-2023-39325', 'CVE-2023-44487'],
  kev: true,
  epss: 0.94431,
};

describe('the findings CSV', () => {
  it("carries each finding's tier, due date, CVEs, KEV flag and EPSS score after the package manager's columns", () => {
    const cells = findingCsvRow(finding).trimEnd().split('","');
    expect(cells).toHaveLength(FINDINGS_CSV_COLUMNS.length);
    const at = (name: (typeof FINDINGS_CSV_COLUMNS)[number]) => cells[FINDINGS_CSV_COLUMNS.indexOf(name)];
    expect(at('Tier')).toBe('kev');
    expect(at('Due')).toBe('2023-10-31T23:59:59.999Z');
    expect(at('CVEs')).toBe('CVE-2023-39325 CVE-2023-44487');
    expect(at('Known exploited')).toBe('yes');
    expect(cells.at(-1)).toBe('0.94431"');
  });

  it('leaves the judged columns empty for a finding no advisory snapshot has judged', () => {
    const row = findingCsvRow({ ...finding, tier: null, dueAt: null, cves: [], kev: false, epss: null });
    expect(row.trimEnd().endsWith('"","","","no",""')).toBe(true);
  });
});
