import { useEffect } from 'react';
import { useApp } from '../../stores/app';
import { useAdvisories } from '../settings/advisories-store';

/**
 * Said plainly wherever tiers and CVEs are shown: when no distro advisory feed (OSV, tracker or
 * CSAF) covers the audited hosts (the rule the dashboard uses too, from advisories.status), no
 * update is matched to CVEs by the snapshot: only the CVEs each host's update tool names are judged
 * (those still get their KEV flags and EPSS scores).
 */
export function NoSnapshotNote() {
  const status = useAdvisories((s) => s.status);
  const load = useAdvisories((s) => s.load);
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    if (!useAdvisories.getState().status) void load();
  }, [load]);
  if (!status || !status.noDistroAdvisories) return null;
  return (
    <p role="note" className="warning small" aria-label="No advisories imported">
      No distro advisories imported: only the CVEs each host&apos;s update tool names are judged, and other
      updates are tiered by the severity it reports. Import them in{' '}
      <button type="button" className="link" onClick={() => navigate('settings', 'advisories')}>
        Settings → Advisories
      </button>
      .
    </p>
  );
}
