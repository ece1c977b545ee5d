import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import type { Finding } from '../../../src/api/schemas';
import { EmptyState } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { useApp } from '../../stores/app';
import { PAGE_SIZE, useUpdates, type FindingSort } from './store';

const ROW_HEIGHT = 36;

function FindingRow({
  finding,
  index,
  sameGroup,
}: {
  finding: Finding | undefined;
  index: number;
  /** Ordered by host or package, and this row continues the previous row's group. */
  sameGroup: 'host' | 'package' | null;
}) {
  if (!finding)
    return (
      <div role="row" aria-rowindex={index + 2} className="finding-row loading">
        <div role="cell" className="muted small">
          loading…
        </div>
      </div>
    );
  const severity = finding.severity ?? finding.vendorSeverity;
  return (
    <div role="row" aria-rowindex={index + 2} className="finding-row" data-finding-id={finding.id}>
      <div
        role="cell"
        className={`cell-host${sameGroup === 'host' ? ' repeated' : ''}`}
        title={finding.hostName}
      >
        {finding.hostName}
      </div>
      <div
        role="cell"
        className={`cell-package${sameGroup === 'package' ? ' repeated' : ''}`}
        title={finding.package}
      >
        <span className="mono">{finding.package}</span>
        {finding.arch && <span className="muted small">:{finding.arch}</span>}
        {finding.kind !== 'package' && <span className="muted small"> ({finding.kind})</span>}
      </div>
      <div
        role="cell"
        className="mono small cell-version"
        title={`${finding.installedVersion ?? '?'} → ${finding.availableVersion}`}
      >
        {finding.installedVersion ?? '?'} → {finding.availableVersion}
      </div>
      <div role="cell" className="small cell-repo" title={finding.repository ?? undefined}>
        {finding.repository ?? '—'}
      </div>
      <div role="cell" title={severity ?? undefined}>
        {finding.security ? (
          <span className="badge security">security</span>
        ) : (
          <span className="muted small">—</span>
        )}
        {severity && <span className="small"> {severity}</span>}
      </div>
      <div role="cell" className="small mono cell-advisories" title={finding.advisories.join(', ')}>
        {finding.advisories.length ? finding.advisories.join(', ') : '—'}
      </div>
      <div role="cell" className="small">
        {finding.held && <span className="badge warn">held</span>}
        {finding.rebootRequired && <span className="badge warn">reboot</span>}
      </div>
    </div>
  );
}

const HEADERS = ['Host', 'Package', 'Installed → available', 'Repository', 'Security', 'Advisories', 'Flags'];

export function UpdatesPage() {
  const total = useUpdates((s) => s.total);
  const securityTotal = useUpdates((s) => s.securityTotal);
  const hostsTotal = useUpdates((s) => s.hostsTotal);
  const pages = useUpdates((s) => s.pages);
  const sort = useUpdates((s) => s.sort);
  const securityOnly = useUpdates((s) => s.securityOnly);
  const search = useUpdates((s) => s.search);
  const error = useUpdates((s) => s.error);
  const { setSort, setSecurityOnly, setSearch, reload, ensureRows } = useUpdates.getState();
  const navigate = useApp((s) => s.navigate);
  const scrollRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    void reload();
  }, [reload]);
  const count = total ?? 0;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (count > 0) ensureRows(first, last);
  }, [first, last, count, pages, ensureRows]);
  // A new query starts at the top.
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [sort, securityOnly, search]);
  const rowAt = (index: number): Finding | undefined =>
    pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  const sameGroup = (index: number): 'host' | 'package' | null => {
    if (sort === 'security' || index === 0) return null;
    const row = rowAt(index);
    const previous = rowAt(index - 1);
    if (!row || !previous) return null;
    if (sort === 'host') return row.hostId === previous.hostId ? 'host' : null;
    return row.package === previous.package ? 'package' : null;
  };
  const filtered = securityOnly || search.trim() !== '';
  return (
    <div className="page updates-page">
      <h1>Updates</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="cards" aria-label="Totals" role="group">
        <div className="card">
          <div className="card-figure" data-testid="total-updates">
            {total === null ? '…' : total.toLocaleString('en')}
          </div>
          <div className="card-label">{filtered ? 'matching updates' : 'pending updates'}</div>
        </div>
        <div className="card">
          <div className="card-figure" data-testid="security-updates">
            {securityTotal.toLocaleString('en')}
          </div>
          <div className="card-label">security updates</div>
        </div>
        <div className="card">
          <div className="card-figure" data-testid="hosts-with-updates">
            {hostsTotal.toLocaleString('en')}
          </div>
          <div className="card-label">hosts with updates</div>
        </div>
      </div>
      <div className="toolbar">
        <input
          type="search"
          aria-label="Search updates"
          placeholder="Search package or host"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <Field label="Order" className="inline-field">
          {(id) => (
            <select id={id} value={sort} onChange={(e) => setSort(e.target.value as FindingSort)}>
              <option value="security">Security first</option>
              <option value="host">By host</option>
              <option value="package">By package</option>
            </select>
          )}
        </Field>
        <label className="inline">
          <input type="checkbox" checked={securityOnly} onChange={(e) => setSecurityOnly(e.target.checked)} />
          Security updates only
        </label>
      </div>
      {total === 0 && !filtered ? (
        <EmptyState title="No pending updates">
          <p>
            Every missing update found by the newest audit of each host is listed here — by host or by
            package, security fixes first, with severity, advisories and whether a reboot is needed. Audit
            hosts from the{' '}
            <button type="button" className="link" onClick={() => navigate('hosts')}>
              Hosts page
            </button>
            .
          </p>
        </EmptyState>
      ) : (
        <div role="table" aria-label="Updates" aria-rowcount={count + 1} className="findings-table">
          <div role="rowgroup">
            <div role="row" aria-rowindex={1} className="finding-row header">
              {HEADERS.map((h) => (
                <div role="columnheader" key={h}>
                  {h}
                </div>
              ))}
            </div>
          </div>
          <div
            ref={scrollRef}
            className="findings-scroll"
            role="rowgroup"
            tabIndex={0}
            aria-label="Update rows"
          >
            {total === 0 && <p className="muted pad">No update matches.</p>}
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((item) => (
                <div
                  key={item.key}
                  style={{
                    position: 'absolute',
                    top: 0,
                    left: 0,
                    right: 0,
                    height: ROW_HEIGHT,
                    transform: `translateY(${item.start}px)`,
                  }}
                >
                  <FindingRow
                    finding={rowAt(item.index)}
                    index={item.index}
                    sameGroup={sameGroup(item.index)}
                  />
                </div>
              ))}
            </div>
          </div>
        </div>
      )}
    </div>
  );
}
