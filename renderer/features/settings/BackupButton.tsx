import { useBackup } from './backup-store';

/** "Back up now": a consistent copy of the open workspace, safe while tasks run. */
export function BackupButton() {
  const busy = useBackup((s) => s.busy);
  const result = useBackup((s) => s.result);
  const backUp = useBackup((s) => s.backUp);
  return (
    <div className="form-actions">
      <button type="button" disabled={busy} onClick={() => void backUp()}>
        {busy ? 'Backing up…' : 'Back up now'}
      </button>
      {result && (
        <span role={result.kind === 'error' ? 'alert' : 'status'} className={result.kind}>
          {result.text}
        </span>
      )}
    </div>
  );
}
