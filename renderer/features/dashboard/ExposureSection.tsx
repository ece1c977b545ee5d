import type { Exposure, PriorityRow } from '../../../src/api/intel-schemas';
import { plural } from '../../components/format';
import { TIER_LABELS, TIER_ORDER, cveCellText, dayOf, formatEpss } from '../../components/intel';
import { hostHref, useApp } from '../../stores/app';
import { openWizardWith } from '../jobs/wizard';
import { TrendChart } from './TrendChart';

function Figure({ label, value, tone }: { label: string; value: number; tone?: 'danger' | 'warning' }) {
  return (
    <div className="card" role="group" aria-label={label}>
      <div className={`card-figure${value > 0 && tone ? ` ${tone}` : ''}`}>{value.toLocaleString('en')}</div>
      <div className="card-label">{label}</div>
    </div>
  );
}

function PatchFirst({ rows }: { rows: PriorityRow[] }) {
  const navigate = useApp((s) => s.navigate);
  if (rows.length === 0) return <p className="muted">No open security update: nothing to patch first.</p>;
  const hostIds = [...new Set(rows.flatMap((r) => r.hostIds))];
  const packages = rows.map((r) => r.package);
  const patch = () => {
    void openWizardWith({ hostIds, packages });
    navigate('jobs');
  };
  return (
    <>
      <table className="grid compact" aria-label="Patch these first list">
        <thead>
          <tr>
            <th>Package</th>
            <th>Tier</th>
            <th>EPSS</th>
            <th>CVEs</th>
            <th>Hosts</th>
            <th>Due</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.package} data-package={r.package}>
              <td className="mono">{r.package}</td>
              <td>
                <span className={`badge tier tier-${r.tier}`}>{TIER_LABELS[r.tier]}</span>
              </td>
              <td className="mono small">{formatEpss(r.epss)}</td>
              <td className="mono small" title={r.cves.join(', ')}>
                {cveCellText(r.cves)}
              </td>
              <td>{r.hosts.toLocaleString('en')}</td>
              <td className="small">
                {r.overdue > 0 ? (
                  <strong>
                    {r.overdue === r.hosts ? 'overdue' : `overdue on ${plural(r.overdue, 'host')}`}
                  </strong>
                ) : r.earliestDueAt ? (
                  `due ${dayOf(r.earliestDueAt)}`
                ) : (
                  '—'
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="form-actions">
        <button type="button" onClick={patch}>
          Patch these first
        </button>
        <span className="muted small">
          Opens the patch wizard with {plural(packages.length, 'package')} on {plural(hostIds.length, 'host')}{' '}
          selected; nothing runs before you review it.
        </span>
      </div>
    </>
  );
}

/** The owner's questions at a glance: how exposed, what is overdue, due this week, trend, worst hosts. */
export function ExposureSection({ exposure }: { exposure: Exposure }) {
  const navigate = useApp((s) => s.navigate);
  const toAdvisories = (
    <button type="button" className="link" onClick={() => navigate('settings', 'advisories')}>
      Settings → Advisories
    </button>
  );
  return (
    <section aria-label="Exposure" className="exposure">
      <h2 className="section-title">Open security updates</h2>
      {exposure.noSnapshot ? (
        <p role="note" className="warning" aria-label="No advisories imported">
          No distro advisories imported: only the CVEs each host&apos;s update tool names are judged, and
          other updates are tiered by the severity it reports. Import them in {toAdvisories}.
        </p>
      ) : (
        exposure.snapshotStale && (
          <p role="note" className="warning" aria-label="Advisories stale">
            The advisory snapshot is older than the age set in Settings (dated {dayOf(exposure.snapshotDate)}
            ): newer CVEs and exploits are missing. Update it in {toAdvisories}.
          </p>
        )
      )}
      <div className="cards wrap" aria-label="By tier" role="group">
        {TIER_ORDER.map((t) => (
          <Figure
            key={t}
            label={TIER_LABELS[t]}
            value={exposure.byTier[t]}
            tone={t === 'kev' || t === 'critical' ? 'danger' : undefined}
          />
        ))}
      </div>
      <div className="cards wrap" aria-label="Deadlines" role="group">
        <Figure label="Overdue" value={exposure.overdue} tone="danger" />
        <Figure label="Due this week" value={exposure.dueThisWeek} tone="warning" />
        <Figure label="Under an exception" value={exposure.excepted} />
        <Figure label="Unfixed CVE findings on hosts (no update yet)" value={exposure.unfixedCves} />
      </div>
      <p>
        {plural(exposure.open, 'open security update')} on {plural(exposure.hostsAudited, 'audited host')}
        {exposure.hosts !== exposure.hostsAudited ? ` (of ${plural(exposure.hosts, 'host')})` : ''}
        {exposure.overdue > 0 ? `, ${plural(exposure.overdue, 'update')} overdue` : ', none overdue'}.
        {exposure.exceptionsExpiringSoon > 0 &&
          ` ${plural(exposure.exceptionsExpiringSoon, 'exception')} expire within 7 days.`}{' '}
        <button type="button" className="link" onClick={() => navigate('updates')}>
          See them on the Updates page
        </button>
      </p>
      <h3>Over time</h3>
      <TrendChart trend={exposure.trend} />
      <div className="exposure-lists">
        <section aria-label="Patch these first">
          <h3>Patch these first</h3>
          <PatchFirst rows={exposure.patchFirst} />
        </section>
        <section aria-label="Most exposed hosts">
          <h3>Most exposed hosts</h3>
          {exposure.mostExposed.length === 0 ? (
            <p className="muted">No host has an open security update.</p>
          ) : (
            <table className="grid compact" aria-label="Most exposed hosts list">
              <thead>
                <tr>
                  <th>Host</th>
                  <th>Open</th>
                  <th>Overdue</th>
                  <th>Known exploited</th>
                  <th>Worst tier</th>
                </tr>
              </thead>
              <tbody>
                {exposure.mostExposed.map((h) => (
                  <tr key={h.hostId} data-host-id={h.hostId}>
                    <td>
                      <a href={hostHref(h.hostId)}>{h.hostName}</a>
                    </td>
                    <td>{h.open.toLocaleString('en')}</td>
                    <td>{h.overdue > 0 ? <strong>{h.overdue.toLocaleString('en')}</strong> : 0}</td>
                    <td>{h.kev.toLocaleString('en')}</td>
                    <td>{h.worstTier ? TIER_LABELS[h.worstTier] : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </section>
  );
}
