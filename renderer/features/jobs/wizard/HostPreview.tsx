import type { JobStep } from '../../../../src/api/schemas';
import { phaseLabel } from '../model';
import { Banner } from './Banner';
import { listedChanges } from './selectors';
import { updateSourceLabel } from '../../../components/windows-updates';
import { isWindowsStep } from './windows';
import { WindowsPreview } from './WindowsPreview';

/** One host's dry run: its state, and once it is in, every change it lists. */
export function HostPreview({ step }: { step: JobStep }) {
  const planning = step.phase === 'planning';
  const unlisted = !planning && step.status === 'queued' && listedChanges(step) === 0;
  const windows = isWindowsStep(step);
  return (
    <article className="host-preview" aria-label={`Dry run on ${step.hostName}`}>
      <header>
        <h3>{step.hostName}</h3>
        <span className="muted small">{updateSourceLabel(step.packageManager) ?? ''}</span>
        {planning ? (
          <span className="muted">{phaseLabel(step.phase)}…</span>
        ) : unlisted ? (
          <span className="badge danger">no listed change</span>
        ) : step.status === 'queued' ? (
          <span className="badge">will change</span>
        ) : step.status === 'skipped' ? (
          <span className="badge warn">nothing to patch</span>
        ) : (
          <span className={`badge ${step.status === 'failed' ? 'danger' : 'warn'}`}>{step.status}</span>
        )}
      </header>
      {step.errorMessage && step.status !== 'queued' && (
        <Banner tone={step.status === 'failed' ? 'error' : 'muted'}>{step.errorMessage}</Banner>
      )}
      {unlisted && (
        <Banner tone="error">
          The dry run on {step.hostName} lists no change, so there is nothing here you could approve.
        </Banner>
      )}
      {!planning && (windows ? <WindowsPreview step={step} /> : <ChangeTable step={step} />)}
    </article>
  );
}

function ChangeTable({ step }: { step: JobStep }) {
  const p = step.preview;
  if (!p) return null;
  const rows = [
    ...p.upgrades.map((c) => ({ ...c, kind: 'upgrade' as const })),
    ...p.newPackages.map((c) => ({ ...c, kind: 'new' as const })),
    ...p.removals.map((c) => ({ ...c, kind: 'removed' as const })),
  ];
  return (
    <>
      {rows.length > 0 && (
        <table className="grid compact changes" aria-label={`Changes on ${step.hostName}`}>
          <thead>
            <tr>
              <th>Package</th>
              <th>Installed</th>
              <th>After</th>
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={`${c.kind}:${c.name}:${c.arch ?? ''}`}>
                <td className="mono">{c.name}</td>
                <td className="mono small">{c.from ?? '—'}</td>
                <td className="mono small">{c.to ?? '—'}</td>
                <td>
                  {c.kind === 'upgrade' && (
                    <>
                      upgrade
                      {step.packages.find((t) => t.name === c.name)?.security && (
                        <span className="badge security">security</span>
                      )}
                    </>
                  )}
                  {c.kind === 'new' && <span className="badge warn">new dependency</span>}
                  {c.kind === 'removed' && <span className="badge danger">removed</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {p.skipped.length > 0 && (
        <ul className="skipped small" aria-label={`Left out on ${step.hostName}`}>
          {p.skipped.map((k) => (
            <li key={k.name}>
              <span className="mono">{k.name}</span>: {k.reason}
            </li>
          ))}
        </ul>
      )}
      {p.command && (
        <details className="small">
          <summary>Dry-run command</summary>
          <code className="mono">{p.command}</code>
        </details>
      )}
    </>
  );
}
