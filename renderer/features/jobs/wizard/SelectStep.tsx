import { useShallow } from 'zustand/react/shallow';
import { formatTime, plural } from '../../../components/format';
import { Banner } from './Banner';
import { RadioGroup, type RadioOption } from './fields';
import { auditedHosts, canReview, reviewLabel, selectedTotals } from './selectors';
import { useWizard } from './store';
import type { UpdateMode } from './types';
import { wsusOf, wsusTitle } from '../../hosts/windows-host';

const MODES: RadioOption<UpdateMode>[] = [
  { id: 'all', label: 'All pending updates' },
  { id: 'security', label: 'Security updates only' },
  { id: 'packages', label: 'Chosen packages' },
];

/** Step 1: which hosts, and which of their pending updates. */
export function SelectStep() {
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const busy = useWizard((s) => s.busy);
  const reviewable = useWizard(canReview);
  const reviewText = useWizard(reviewLabel);
  const { updates, security } = useWizard(useShallow(selectedTotals));
  const { review, close } = useWizard.getState();
  const selected = useWizard((s) => s.choices.hostIds);
  const auditable = auditedHosts({ hosts, audits });

  return (
    <form
      className="wizard-body"
      onSubmit={(e) => {
        e.preventDefault();
        if (reviewable) void review();
      }}
    >
      <fieldset>
        <legend>Hosts</legend>
        {hosts.length === 0 && !busy ? (
          <Banner tone="muted">
            No hosts in the inventory yet. Add them on the Discover or Hosts page and audit them.
          </Banner>
        ) : (
          <HostTable auditableIds={auditable.map((h) => h.id)} />
        )}
      </fieldset>

      <fieldset>
        <legend>Updates</legend>
        <ModeChoices />
      </fieldset>

      <p className="muted" aria-live="polite">
        {plural(selected.length, 'host')} selected
        {selected.length > 0 && ` · last audits found ${plural(updates, 'update')}, ${security} security`}
      </p>
      <div className="form-actions">
        <button type="submit" disabled={!reviewable}>
          {reviewText}
        </button>
        <button type="button" className="secondary" onClick={() => void close()}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function HostTable({ auditableIds }: { auditableIds: number[] }) {
  const hosts = useWizard((s) => s.hosts);
  const audits = useWizard((s) => s.audits);
  const selected = useWizard((s) => s.choices.hostIds);
  const { toggleHost, setHosts } = useWizard.getState();
  return (
    <table className="grid compact" aria-label="Hosts to patch">
      <thead>
        <tr>
          <th>
            <input
              type="checkbox"
              aria-label="Select every audited host"
              checked={auditableIds.length > 0 && auditableIds.every((id) => selected.includes(id))}
              onChange={(e) => setHosts(e.target.checked ? auditableIds : [])}
            />
          </th>
          <th>Host</th>
          <th>Address</th>
          <th>Last audit</th>
          <th>Pending updates</th>
        </tr>
      </thead>
      <tbody>
        {hosts.map((h) => {
          const audit = audits[h.id];
          return (
            <tr key={h.id}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Patch ${h.name}`}
                  checked={selected.includes(h.id)}
                  onChange={(e) => toggleHost(h.id, e.target.checked)}
                />
              </td>
              <td>{h.name}</td>
              <td className="mono small">{h.address ?? '—'}</td>
              <td className="small">
                {audit ? (
                  <>
                    {audit.status === 'succeeded' ? (
                      formatTime(audit.finishedAt ?? audit.startedAt)
                    ) : (
                      <span className="warning">{audit.status}</span>
                    )}
                  </>
                ) : (
                  <span className="warning">never audited — audit it first</span>
                )}
              </td>
              <td className="small">
                {audit?.status === 'succeeded' ? (
                  <>
                    {plural(audit.updatesCount, 'update')}
                    {audit.securityCount > 0 && (
                      <span className="badge security">{audit.securityCount} security</span>
                    )}
                    {wsusOf(audit) && (
                      <span className="badge warn" title={wsusTitle(wsusOf(audit)!)}>
                        WSUS
                      </span>
                    )}
                  </>
                ) : (
                  '—'
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ModeChoices() {
  const { mode, hostIds, packageChoices, chosenPackages } = useWizard((s) => s.choices);
  const { setMode, togglePackage } = useWizard.getState();
  return (
    <>
      <RadioGroup name="mode" options={MODES} value={mode} onChoose={(m) => void setMode(m)} />
      {mode === 'packages' &&
        (hostIds.length === 0 ? (
          <Banner tone="muted" small>
            Select hosts first: the packages pending on them are listed here.
          </Banner>
        ) : packageChoices === null ? (
          <Banner tone="muted" small>
            Loading the pending packages…
          </Banner>
        ) : packageChoices.length === 0 ? (
          <Banner tone="muted" small>
            Nothing is pending on the selected hosts.
          </Banner>
        ) : (
          <ul className="package-choices" aria-label="Packages to patch">
            {packageChoices.map((c) => (
              <li key={c.name}>
                <label className="inline">
                  <input
                    type="checkbox"
                    checked={chosenPackages.includes(c.name)}
                    onChange={(e) => togglePackage(c.name, e.target.checked)}
                  />
                  <span className="mono">{c.name}</span>
                  {c.security && <span className="badge security">security</span>}
                  <span className="muted small">on {plural(c.hosts, 'host')}</span>
                </label>
              </li>
            ))}
          </ul>
        ))}
    </>
  );
}
