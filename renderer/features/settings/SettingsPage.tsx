import { useState, type FormEvent } from 'react';
import type { Settings } from '../../../src/api/schemas';
import { describeError } from '../../api';
import { useApp } from '../../stores/app';
import { TIER_LABELS, TIER_ORDER } from '../../components/intel';
import { announceJudgementChanged } from '../intel/store';
import { AdvisoriesSection } from './AdvisoriesSection';
import { useAdvisories } from './advisories-store';
import { BackupButton } from './BackupButton';
import { CredentialsSection } from './CredentialsSection';
import { NotificationsSection } from './NotificationsSection';
import { SchedulesSection } from './SchedulesSection';
import { hasUnsavedSettings, useSettingsDraft } from './settings-draft';

const THEME_LABELS: Record<Settings['theme'], string> = {
  system: 'Follow the system',
  light: 'Light',
  dark: 'Dark',
};

export function SettingsPage() {
  const settings = useApp((s) => s.settings);
  const info = useApp((s) => s.info);
  const save = useApp((s) => s.saveSettings);
  const draft = useSettingsDraft((s) => s.draft);
  const change = useSettingsDraft((s) => s.change);
  const clearDraft = useSettingsDraft((s) => s.clear);
  const unsaved = useSettingsDraft(hasUnsavedSettings);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  if (!settings)
    return (
      <div className="page">
        <h1>Settings</h1>
        <p>No workspace is open.</p>
      </div>
    );
  const value = { ...settings, ...draft };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await save(draft);
      clearDraft();
      setMessage({ kind: 'ok', text: 'Settings saved.' });
      // New SLA days move due dates, a new age limit changes which feeds are stale.
      if (draft.slaDays || draft.advisoryMaxAgeDays !== undefined) {
        void useAdvisories.getState().load();
        announceJudgementChanged();
      }
    } catch (error) {
      setMessage({ kind: 'error', text: describeError(error) });
    }
  };
  // The theme is saved the moment it is chosen, so the window shows it at once and it never waits
  // on the Save button (nor is lost by leaving the page).
  const chooseTheme = async (theme: Settings['theme']) => {
    const before = settings.theme;
    useApp.setState({ settings: { ...settings, theme } });
    try {
      await save({ theme });
      setMessage({ kind: 'ok', text: `Theme saved: ${THEME_LABELS[theme]}.` });
    } catch (error) {
      const current = useApp.getState().settings;
      if (current) useApp.setState({ settings: { ...current, theme: before } });
      setMessage({ kind: 'error', text: `The theme was not saved: ${describeError(error)}` });
    }
  };
  return (
    <div className="page">
      <h1>Settings</h1>
      {unsaved && (
        <p role="status" className="warning banner" aria-label="Unsaved settings">
          Some settings below are changed but not saved yet.{' '}
          <button type="button" className="link" onClick={clearDraft}>
            Discard changes
          </button>
        </p>
      )}
      <form className="settings" onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Appearance</legend>
          <label>
            Theme
            <select
              value={settings.theme}
              onChange={(e) => void chooseTheme(e.target.value as Settings['theme'])}
            >
              {(Object.keys(THEME_LABELS) as Settings['theme'][]).map((t) => (
                <option key={t} value={t}>
                  {THEME_LABELS[t]}
                </option>
              ))}
            </select>
            <span className="muted small">Applies and is saved at once.</span>
          </label>
        </fieldset>
        <fieldset>
          <legend>Audits</legend>
          <label>
            Your name (recorded in the audit log)
            <input value={value.operatorName} onChange={(e) => change({ operatorName: e.target.value })} />
          </label>
          <label>
            Hosts audited at once
            <input
              type="number"
              min={1}
              max={128}
              value={value.auditConcurrency}
              onChange={(e) => change({ auditConcurrency: Number(e.target.value) })}
            />
          </label>
          <label>
            Per-host timeout (seconds)
            <input
              type="number"
              min={5}
              max={3600}
              value={value.hostTimeoutSeconds}
              onChange={(e) => change({ hostTimeoutSeconds: Number(e.target.value) })}
            />
          </label>
          <label>
            Most output per command (MiB; audits and patching stop a command that prints more)
            <input
              type="number"
              min={1}
              max={1024}
              value={value.maxCommandOutputMiB}
              onChange={(e) => change({ maxCommandOutputMiB: Number(e.target.value) })}
            />
          </label>
          <label className="inline">
            <input
              type="checkbox"
              checked={value.refreshMetadataBeforeAudit}
              onChange={(e) => change({ refreshMetadataBeforeAudit: e.target.checked })}
            />
            Refresh package metadata before each audit (needs the hosts to reach their mirrors)
          </label>
        </fieldset>
        <fieldset>
          <legend>Discovery</legend>
          <label>
            Default ports
            <input
              value={value.discoveryPorts.join(', ')}
              onChange={(e) =>
                change({
                  discoveryPorts: e.target.value
                    .split(/[\s,]+/)
                    .filter(Boolean)
                    .map(Number),
                })
              }
            />
          </label>
          <label>
            Probe timeout (ms)
            <input
              type="number"
              min={100}
              max={30000}
              value={value.discoveryTimeoutMs}
              onChange={(e) => change({ discoveryTimeoutMs: Number(e.target.value) })}
            />
          </label>
        </fieldset>
        <fieldset>
          <legend>Patching</legend>
          <label>
            Default reboot policy
            <select
              value={value.rebootPolicy}
              onChange={(e) => change({ rebootPolicy: e.target.value as Settings['rebootPolicy'] })}
            >
              <option value="never">Never reboot</option>
              <option value="if-required">Reboot if an update requires it</option>
              <option value="always">Always reboot</option>
            </select>
          </label>
        </fieldset>
        <fieldset aria-label="Due dates and feed age">
          <legend>Advisories: due dates and feed age</legend>
          <p className="muted small">
            A security update is due this many days after the first audit that saw it, by its tier. A
            known-exploited one is due sooner when CISA&apos;s own due date is earlier.
          </p>
          {TIER_ORDER.map((tier) => (
            <label key={tier}>
              {TIER_LABELS[tier]}: days to patch
              <input
                type="number"
                min={1}
                max={3650}
                value={value.slaDays[tier]}
                onChange={(e) => change({ slaDays: { ...value.slaDays, [tier]: Number(e.target.value) } })}
              />
            </label>
          ))}
          <label>
            Warn when a feed is older than (days)
            <input
              type="number"
              min={1}
              max={365}
              value={value.advisoryMaxAgeDays}
              onChange={(e) => change({ advisoryMaxAgeDays: Number(e.target.value) })}
            />
          </label>
          <label>
            Mirror for Update from publishers (empty: the publishers themselves)
            <input
              value={value.advisoryMirror}
              placeholder="https://mirror.example.org"
              onChange={(e) => change({ advisoryMirror: e.target.value })}
            />
          </label>
        </fieldset>
        <div className="form-actions">
          <button type="submit" disabled={Object.keys(draft).length === 0}>
            Save settings
          </button>
          {message && (
            <span role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>
              {message.text}
            </span>
          )}
        </div>
      </form>
      <AdvisoriesSection />
      <NotificationsSection />
      <CredentialsSection />
      <SchedulesSection />
      <section className="about">
        <h2>About this workspace</h2>
        <dl>
          <dt>File</dt>
          <dd className="mono">{info?.workspace?.path}</dd>
          <dt>Schema version</dt>
          <dd>{info?.workspace?.schemaVersion}</dd>
          <dt>Backups</dt>
          <dd>
            <BackupButton />
          </dd>
          <dt>Secrets are sealed with</dt>
          <dd>{info?.secretsBackend}</dd>
          <dt>Patchdeck</dt>
          <dd>
            {info?.version} ({info?.carrier}, {info?.platform})
          </dd>
        </dl>
      </section>
    </div>
  );
}
