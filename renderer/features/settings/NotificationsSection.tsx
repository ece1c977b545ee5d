import { useState } from 'react';
import { describeError } from '../../api';
import { useApp } from '../../stores/app';

type Permission = NotificationPermission | 'unsupported';

const permissionNow = (): Permission =>
  typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;

/**
 * "Notify me when work finishes": audits, scans and patch jobs (scheduled ones too) that finish or
 * fail, and hosts that need a reboot. The desktop app uses the OS's notifications; in a browser
 * the page asks the browser's permission on this click, the only moment a browser allows asking.
 */
export function NotificationsSection() {
  const settings = useApp((s) => s.settings);
  const carrier = useApp((s) => s.info?.carrier);
  const save = useApp((s) => s.saveSettings);
  const [permission, setPermission] = useState<Permission>(permissionNow);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  if (!settings) return null;
  const inBrowser = carrier === 'browser';
  const on = settings.notifyWhenWorkFinishes;

  /** Asks this browser (on a click); true once it allows notifications. */
  const allowInBrowser = async (): Promise<boolean> => {
    if (typeof Notification === 'undefined') {
      setPermission('unsupported');
      setMessage({ kind: 'error', text: 'This browser cannot show notifications.' });
      return false;
    }
    const answer = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    setPermission(answer);
    if (answer === 'granted') return true;
    setMessage({
      kind: 'error',
      text: 'The browser did not allow notifications for this page. Allow them in its site settings (the icon beside the address), then tick the box again.',
    });
    return false;
  };

  const toggle = async (checked: boolean): Promise<void> => {
    setBusy(true);
    setMessage(null);
    try {
      if (checked && inBrowser && !(await allowInBrowser())) return;
      await save({ notifyWhenWorkFinishes: checked });
      setMessage({
        kind: 'ok',
        text: checked
          ? 'You will be notified when an audit, scan or patch job finishes or fails, and when a host needs a reboot.'
          : 'Notifications are off.',
      });
    } catch (error) {
      setMessage({ kind: 'error', text: describeError(error) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="settings notifications" aria-labelledby="notifications-heading">
      <h2 id="notifications-heading">Notifications</h2>
      <label className="inline">
        <input type="checkbox" checked={on} disabled={busy} onChange={(e) => void toggle(e.target.checked)} />
        Notify me when work finishes
      </label>
      <p className="muted small">
        Audits, scans and patch jobs, scheduled ones too, when they finish or fail (with how many hosts
        succeeded and failed), and hosts that need a reboot.
        {inBrowser ? ' In a browser they show while this page is open.' : ''}
      </p>
      {on && inBrowser && permission !== 'granted' && (
        <p className="warning">
          This browser has not allowed notifications for this page yet.{' '}
          <button type="button" className="secondary" onClick={() => void allowInBrowser()}>
            Allow in this browser
          </button>
        </p>
      )}
      {message && (
        <p role={message.kind === 'error' ? 'alert' : 'status'} className={message.kind}>
          {message.text}
        </p>
      )}
    </section>
  );
}
