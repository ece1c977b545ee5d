import { useEffect } from 'react';
import { useApp } from '../../stores/app';
import { useAdvisories } from '../settings/advisories-store';

/**
 * Said plainly wherever tiers and CVEs are shown: with no advisories imported, no update carries a
 * CVE, a known-exploited flag or an EPSS score, and the window points to where to import them.
 */
export function NoSnapshotNote() {
  const status = useAdvisories((s) => s.status);
  const load = useAdvisories((s) => s.load);
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    if (!useAdvisories.getState().status) void load();
  }, [load]);
  if (!status || status.feeds.length > 0) return null;
  return (
    <p role="note" className="warning small" aria-label="No advisories imported">
      No advisories are imported, so no update here shows CVEs, known-exploited flags or EPSS scores, and
      tiers come only from the severity each host&apos;s update tool reports. Import them in{' '}
      <button type="button" className="link" onClick={() => navigate('settings', 'advisories')}>
        Settings → Advisories
      </button>
      .
    </p>
  );
}
