import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Schedule, ScheduleRun, Weekday } from '../../../src/api/schedule-schemas';
import type { Task } from '../../../src/api/schemas';
import { Field } from '../../components/Field';
import { formatTime } from '../../components/format';
import { useHosts } from '../hosts/store';
import { useSchedules, type NewSchedule } from './schedules-store';

const DAYS: { id: Weekday; label: string }[] = [
  { id: 'mon', label: 'Mon' },
  { id: 'tue', label: 'Tue' },
  { id: 'wed', label: 'Wed' },
  { id: 'thu', label: 'Thu' },
  { id: 'fri', label: 'Fri' },
  { id: 'sat', label: 'Sat' },
  { id: 'sun', label: 'Sun' },
];

const localZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** How a run ended, in words, and whether that is a failure (shown as one). */
export function runOutcome(run: ScheduleRun | null): { text: string; failed: boolean; running: boolean } {
  if (!run) return { text: 'Not run yet', failed: false, running: false };
  if (run.status === 'skipped') return { text: run.message ?? 'Skipped', failed: true, running: false };
  const task = run.task as (Task & { summary?: string | null; outcome?: string | null }) | null;
  if (!task) return { text: run.message ?? run.status, failed: run.status === 'failed', running: false };
  if (task.status === 'running') return { text: 'Running…', failed: false, running: true };
  const ending = task.outcome ?? task.status;
  const failed = ending !== 'succeeded';
  const words = task.summary ?? task.error ?? null;
  const label =
    ending === 'succeeded'
      ? 'Succeeded'
      : ending.charAt(0).toUpperCase() + ending.slice(1).replace(/-/g, ' ');
  const text = !words
    ? label
    : words.toLowerCase().startsWith(ending.replace(/-/g, ' '))
      ? words
      : `${label}: ${words}`;
  return { text, failed, running: false };
}

function ScheduleRow({ schedule }: { schedule: Schedule }) {
  const runNow = useSchedules((s) => s.runNow);
  const setEnabled = useSchedules((s) => s.setEnabled);
  const remove = useSchedules((s) => s.remove);
  const outcome = runOutcome(schedule.lastRun);
  return (
    <tr data-schedule-id={schedule.id}>
      <td>{schedule.name}</td>
      <td className="small">{schedule.what}</td>
      <td className="small">
        {schedule.when}
        {!schedule.enabled && <span className="badge">off</span>}
      </td>
      <td className="small" data-cell="next">
        {schedule.enabled ? formatTime(schedule.nextRunAt) : '—'}
      </td>
      <td className="small" data-cell="last">
        {schedule.lastRun && (
          <span className="muted">
            {formatTime(schedule.lastRun.startedAt ?? schedule.lastRun.dueAt)}
            {schedule.lastRun.status === 'late' ? ' (late)' : ''}
            {schedule.lastRun.trigger === 'manual' ? ' (run by hand)' : ''}
            <br />
          </span>
        )}
        <span
          role="status"
          data-failed={String(outcome.failed)}
          className={outcome.failed ? 'error' : outcome.running ? 'muted' : schedule.lastRun ? 'ok' : 'muted'}
        >
          {outcome.text}
        </span>
      </td>
      <td className="small" data-cell="missed">
        {schedule.overdueSince ? (
          <span className="error">
            Due {formatTime(schedule.overdueSince)} while Patchdeck was closed; reported when it next runs
            schedules.
          </span>
        ) : schedule.lastMissed ? (
          <span className="error" title={schedule.lastMissed.message ?? undefined}>
            {schedule.lastMissed.missedCount} missed ({formatTime(schedule.lastMissed.dueAt)}
            {schedule.lastMissed.missedCount > 1 ? ` – ${formatTime(schedule.lastMissed.lastMissedAt)}` : ''})
            {': '}
            {schedule.ifMissed === 'run-once' ? 'made up once, late' : 'not run late'}
          </span>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
      <td>
        <div className="row">
          <button
            type="button"
            disabled={outcome.running}
            aria-label={`Run ${schedule.name} now`}
            onClick={() => void runNow(schedule.id)}
          >
            Run now
          </button>
          <button
            type="button"
            className="secondary"
            aria-label={`${schedule.enabled ? 'Switch off' : 'Switch on'} ${schedule.name}`}
            onClick={() => void setEnabled(schedule.id, !schedule.enabled)}
          >
            {schedule.enabled ? 'Switch off' : 'Switch on'}
          </button>
          <button
            type="button"
            className="secondary"
            aria-label={`Remove ${schedule.name}`}
            onClick={() => void remove(schedule.id)}
          >
            Remove
          </button>
        </div>
      </td>
    </tr>
  );
}

/** Recurring discovery and audits: what runs when, how the last run went, and runs missed. */
export function SchedulesSection() {
  const schedules = useSchedules((s) => s.schedules);
  const networks = useSchedules((s) => s.networks);
  const error = useSchedules((s) => s.error);
  const load = useSchedules((s) => s.load);
  const create = useSchedules((s) => s.create);
  const hosts = useHosts((s) => s.hosts);
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'audit' | 'discovery'>('audit');
  const [tag, setTag] = useState('');
  const [networkId, setNetworkId] = useState('');
  const [targets, setTargets] = useState('');
  const [ports, setPorts] = useState('');
  const [largeOk, setLargeOk] = useState(false);
  const [addFound, setAddFound] = useState(false);
  const [every, setEvery] = useState<'day' | 'interval'>('day');
  const [at, setAt] = useState('02:00');
  const [days, setDays] = useState<Weekday[]>(DAYS.map((d) => d.id));
  const [timeZone, setTimeZone] = useState(localZone);
  const [hours, setHours] = useState('6');
  const [ifMissed, setIfMissed] = useState<'run-once' | 'skip'>('run-once');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void load();
  }, [load]);
  const tags = useMemo(() => [...new Set(hosts.flatMap((h) => h.tags))].sort(), [hosts]);
  const zones = useMemo(() => {
    try {
      return Intl.supportedValuesOf('timeZone');
    } catch {
      return [];
    }
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const input: NewSchedule = {
      name: name.trim(),
      target:
        kind === 'audit'
          ? { kind: 'audit', ...(tag.trim() ? { tag: tag.trim() } : {}) }
          : {
              kind: 'discovery',
              ...(networkId ? { networkId: Number(networkId) } : { targets: targets.trim() }),
              ...(ports.trim() ? { ports: ports.trim() } : {}),
              ...(largeOk ? { confirm: true } : {}),
              ...(addFound ? { addToInventory: true } : {}),
            },
      recurrence:
        every === 'day'
          ? { every: 'day', at, timeZone: timeZone.trim(), ...(days.length < 7 ? { days } : {}) }
          : { every: 'interval', minutes: Math.round(Number(hours) * 60) },
      ifMissed,
    };
    const ok = await create(input);
    setBusy(false);
    if (ok) {
      setName('');
      setTag('');
      setTargets('');
    }
  };

  return (
    <section className="schedules" aria-labelledby="schedules-heading">
      <h2 id="schedules-heading">Schedules</h2>
      <p className="muted small">
        Scheduled audits and discovery scans run while Patchdeck is open (this window, or the browser
        mode&apos;s server). A run that falls while Patchdeck is closed is reported here as missed; a schedule
        set to &ldquo;Run once when Patchdeck next opens&rdquo; then makes it up once, marked late. Each run
        appears in the task list like any other.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {schedules.length === 0 ? (
        <p className="muted">No schedules yet. Add a nightly audit or scan below.</p>
      ) : (
        <table className="grid" aria-label="Schedules">
          <thead>
            <tr>
              <th>Name</th>
              <th>What</th>
              <th>When</th>
              <th>Next run</th>
              <th>Last run</th>
              <th>Missed runs</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <ScheduleRow key={s.id} schedule={s} />
            ))}
          </tbody>
        </table>
      )}
      <form className="settings schedule-form" aria-label="Add schedule" onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Add a schedule</legend>
          <div className="row">
            <Field label="Name">
              {(id) => (
                <input
                  id={id}
                  value={name}
                  required
                  maxLength={64}
                  onChange={(e) => setName(e.target.value)}
                />
              )}
            </Field>
            <Field label="Run">
              {(id) => (
                <select
                  id={id}
                  value={kind}
                  onChange={(e) => setKind(e.target.value as 'audit' | 'discovery')}
                >
                  <option value="audit">Audit</option>
                  <option value="discovery">Discovery scan</option>
                </select>
              )}
            </Field>
          </div>
          {kind === 'audit' ? (
            <Field label="Hosts with tag" hint="Leave empty to audit every inventory host.">
              {(id) => (
                <>
                  <input
                    id={id}
                    value={tag}
                    maxLength={64}
                    list={`${id}-tags`}
                    onChange={(e) => setTag(e.target.value)}
                  />
                  <datalist id={`${id}-tags`}>
                    {tags.map((t) => (
                      <option key={t} value={t} />
                    ))}
                  </datalist>
                </>
              )}
            </Field>
          ) : (
            <div className="row">
              <Field label="Saved network">
                {(id) => (
                  <select id={id} value={networkId} onChange={(e) => setNetworkId(e.target.value)}>
                    <option value="">type the targets instead</option>
                    {networks.map((n) => (
                      <option key={n.id} value={n.id}>
                        {n.name} ({n.targets.slice(0, 40)})
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {!networkId && (
                <Field
                  label="Targets"
                  hint="A range you name: CIDR, range or list. Patchdeck never picks one itself."
                >
                  {(id) => (
                    <input
                      id={id}
                      value={targets}
                      required
                      maxLength={100_000}
                      placeholder="192.168.1.0/24"
                      onChange={(e) => setTargets(e.target.value)}
                    />
                  )}
                </Field>
              )}
              <Field label="Ports" hint="Empty: the ports in Settings.">
                {(id) => (
                  <input id={id} value={ports} maxLength={2000} onChange={(e) => setPorts(e.target.value)} />
                )}
              </Field>
              <label className="check">
                <input type="checkbox" checked={largeOk} onChange={(e) => setLargeOk(e.target.checked)} />{' '}
                Allow more than a /22 (up to a /16)
              </label>
              <label className="check">
                <input type="checkbox" checked={addFound} onChange={(e) => setAddFound(e.target.checked)} />{' '}
                Add hosts found to the inventory
              </label>
            </div>
          )}
          <div className="row">
            <Field label="Repeat">
              {(id) => (
                <select
                  id={id}
                  value={every}
                  onChange={(e) => setEvery(e.target.value as 'day' | 'interval')}
                >
                  <option value="day">At a time of day</option>
                  <option value="interval">Every few hours</option>
                </select>
              )}
            </Field>
            {every === 'day' ? (
              <>
                <Field label="Time">
                  {(id) => (
                    <input id={id} type="time" value={at} required onChange={(e) => setAt(e.target.value)} />
                  )}
                </Field>
                <Field label="Time zone">
                  {(id) => (
                    <>
                      <input
                        id={id}
                        value={timeZone}
                        required
                        maxLength={64}
                        list={`${id}-zones`}
                        onChange={(e) => setTimeZone(e.target.value)}
                      />
                      <datalist id={`${id}-zones`}>
                        {zones.map((z) => (
                          <option key={z} value={z} />
                        ))}
                      </datalist>
                    </>
                  )}
                </Field>
              </>
            ) : (
              <Field label="Every (hours)" hint="From a quarter of an hour to 31 days (744 hours).">
                {(id) => (
                  <input
                    id={id}
                    type="number"
                    min={0.25}
                    max={744}
                    step={0.25}
                    value={hours}
                    required
                    onChange={(e) => setHours(e.target.value)}
                  />
                )}
              </Field>
            )}
          </div>
          {every === 'day' && (
            <div className="row" role="group" aria-label="Days">
              {DAYS.map((d) => (
                <label key={d.id} className="check">
                  <input
                    type="checkbox"
                    checked={days.includes(d.id)}
                    onChange={(e) =>
                      setDays(
                        e.target.checked
                          ? DAYS.map((x) => x.id).filter((x) => x === d.id || days.includes(x))
                          : days.filter((x) => x !== d.id),
                      )
                    }
                  />{' '}
                  {d.label}
                </label>
              ))}
            </div>
          )}
          <Field label="If Patchdeck was closed at the time">
            {(id) => (
              <select
                id={id}
                value={ifMissed}
                onChange={(e) => setIfMissed(e.target.value as 'run-once' | 'skip')}
              >
                <option value="run-once">Report it and run once when Patchdeck next opens</option>
                <option value="skip">Only report it</option>
              </select>
            )}
          </Field>
          <button type="submit" disabled={busy || (every === 'day' && days.length === 0)}>
            Add schedule
          </button>
        </fieldset>
      </form>
    </section>
  );
}
