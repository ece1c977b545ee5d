import type { Finding } from '../../../src/api/schemas';
import { TIER_LABELS, cveCellText, dueText, exceptionWord, formatEpss } from '../../components/intel';
import { useEvidence } from './store';

/** Who the evidence button is about, for its accessible name. */
function subject(f: Finding): string {
  return `${f.package}${f.arch ? ` ${f.arch}` : ''} on ${f.hostName}`;
}

/**
 * The risk columns of one update: tier, due date (in words, overdue said so), CVEs (one click opens
 * the evidence), KEV and EPSS. The Updates page and host detail show the same cells.
 */
export function RiskCells({ finding }: { finding: Finding }) {
  const open = useEvidence((s) => s.open);
  const due = dueText(finding);
  return (
    <>
      <div role="cell" className="cell-tier small">
        {finding.tier ? (
          <span className={`badge tier tier-${finding.tier}`}>{TIER_LABELS[finding.tier]}</span>
        ) : (
          <span className="muted">—</span>
        )}
      </div>
      <div
        role="cell"
        className={`cell-due small${finding.overdue ? ' overdue' : ''}`}
        title={
          finding.exception
            ? `${exceptionWord(finding.exception.decision)} ${due}: ${finding.exception.reason}`
            : due
        }
      >
        {finding.exception && !finding.overdue && (
          <>
            <span className="badge exception">{exceptionWord(finding.exception.decision)}</span>{' '}
          </>
        )}
        {finding.overdue ? (
          <strong>{due}</strong>
        ) : finding.dueAt ? (
          due
        ) : (
          <span className="muted">{due}</span>
        )}
      </div>
      <div role="cell" className="cell-cves small mono" title={finding.cves.join(', ') || undefined}>
        {finding.cves.length > 0 || finding.security ? (
          <button
            type="button"
            className="link evidence-button"
            aria-label={`Evidence of ${subject(finding)}`}
            onClick={() => void open(finding.id)}
          >
            {finding.cves.length ? cveCellText(finding.cves) : 'none known'}
          </button>
        ) : (
          <span className="muted">—</span>
        )}
      </div>
      <div role="cell" className="cell-kev small">
        {finding.kev ? (
          <span
            className="badge kev"
            title="A CVE it fixes is in CISA's Known Exploited Vulnerabilities catalogue"
          >
            KEV
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </div>
      <div role="cell" className="cell-epss small mono" title="Highest EPSS score of its CVEs">
        {formatEpss(finding.epss)}
      </div>
    </>
  );
}
