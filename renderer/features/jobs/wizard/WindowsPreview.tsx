import type { JobStep } from '../../../../src/api/schemas';
import { wusaUninstall } from '../../../components/windows-updates';
import { useWizard } from './store';

/**
 * A Windows PC's part of the plan: the KBs Windows Update will install, exactly these, with
 * Windows' own undo recipe for each. The recipe is shown, never run: not every update can be
 * removed, and whether to remove one is the admin's decision on the PC.
 */
export function WindowsPreview({ step }: { step: JobStep }) {
  const titles = useWizard((s) => s.kbTitles[step.hostId]);
  // A Windows step names each KB and the UpdateID the task installs (`to`).
  const listed = step.preview?.upgrades.length
    ? step.preview.upgrades.map((u) => ({ name: u.name, updateId: u.to }))
    : step.packages.map((p) => ({ name: p.name, updateId: p.to }));
  const security = new Set(step.packages.filter((p) => p.security).map((p) => p.name));
  const skipped = step.preview?.skipped ?? [];
  return (
    <>
      {listed.length > 0 && (
        <table className="grid compact changes" aria-label={`Windows updates on ${step.hostName}`}>
          <thead>
            <tr>
              <th>KB</th>
              <th>Title</th>
              <th>UpdateID installed</th>
              <th>Undo (shown, never run)</th>
            </tr>
          </thead>
          <tbody>
            {listed.map((k) => {
              const undo = wusaUninstall(k.name);
              return (
                <tr key={k.name} data-kb={k.name}>
                  <td className="mono">
                    {k.name}
                    {security.has(k.name) && <span className="badge security">security</span>}
                  </td>
                  <td className="small">{titles?.[k.name] ?? '—'}</td>
                  <td className="mono small">{k.updateId ?? '—'}</td>
                  <td className="mono small">
                    {undo ?? <span className="muted">no KB number to remove by</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {skipped.length > 0 && (
        <ul className="skipped small" aria-label={`Left out on ${step.hostName}`}>
          {skipped.map((k) => (
            <li key={k.name}>
              <span className="mono">{k.name}</span>: {k.reason}
            </li>
          ))}
        </ul>
      )}
      <p className="muted small">
        A scheduled task running as SYSTEM on {step.hostName} downloads and installs exactly these updates,
        writes a receipt and removes itself; Patchdeck reads the receipt, also after a dropped connection or a
        restart. To take one back later, the undo command above runs in an administrator prompt on the PC —
        Windows refuses it for updates that cannot be removed.
      </p>
    </>
  );
}
