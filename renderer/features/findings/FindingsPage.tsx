import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef } from 'react';
import type { Finding, FindingGroup } from '../../../src/api/schemas';
import { EmptyState } from '../../components/EmptyState';
import { findingVersionText, plural } from '../../components/format';
import { Field } from '../../components/Field';
import { hostHref, useApp } from '../../stores/app';
import {
  formatBytes,
  formatDate,
  isKb,
  kbCategories,
  kbDetails,
  kbNumber,
  kbRestartText,
} from '../../components/windows-updates';
import { openWizardWith } from '../jobs/wizard';
import { ExceptionsSection } from '../intel/ExceptionsSection';
import { RiskCells } from '../intel/RiskCells';
import { NoSnapshotNote } from '../intel/NoSnapshotNote';
import { TIER_LABELS, TIER_ORDER } from '../../components/intel';
import type { Tier } from '../../../src/api/intel-schemas';
import {
  PAGE_SIZE,
  groupKey,
  isFiltered,
  rowKey,
  useFindings,
  type FindingSort,
  type RowKinds,
  type Severity,
  type FindingsView,
} from './store';
import './findings.css';

const ROW_HEIGHT = 36;

const SEVERITY_LABELS: Record<Severity, string> = {
  critical: 'Critical',
  important: 'Important',
  moderate: 'Moderate',
  low: 'Low',
  unknown: 'Unknown',
  none: 'No rating',
};

interface Column {
  label: string;
  sort?: FindingSort;
}

/** The columns of the host view: only the labels of the kind-specific ones differ. */
function hostViewColumns(labels: {
  name: string;
  arch: string;
  versions: string;
  repository: string;
  flags: string;
}): Column[] {
  return [
    { label: 'Host', sort: 'host' },
    { label: labels.name, sort: 'package' },
    { label: labels.arch },
    { label: labels.versions },
    { label: 'Tier', sort: 'risk' },
    { label: 'Due', sort: 'due' },
    { label: 'CVEs' },
    { label: 'KEV' },
    { label: 'EPSS' },
    { label: labels.repository, sort: 'repository' },
    { label: 'Security', sort: 'security' },
    { label: 'Advisories' },
    { label: labels.flags },
  ];
}

const FINDING_COLUMNS = hostViewColumns({
  name: 'Package',
  arch: 'Arch',
  versions: 'Installed → available',
  repository: 'Repository',
  flags: 'Flags',
});

/**
 * Windows updates (KBs) sit in the same columns: the KB number where a package name is, its
 * download size where the architecture is, its title where the versions are and its categories
 * where the repository is. Headers name both while both kinds are on screen.
 */
const KB_COLUMNS = hostViewColumns({
  name: 'KB',
  arch: 'Size',
  versions: 'Title',
  repository: 'Categories',
  flags: 'Restart',
});
const MIXED_COLUMNS = hostViewColumns({
  name: 'Package or KB',
  arch: 'Arch or size',
  versions: 'Installed → available, or title',
  repository: 'Repository or categories',
  flags: 'Flags',
});

const PACKAGE_COLUMNS: Column[] = [
  { label: 'Package', sort: 'package' },
  { label: 'Arch' },
  // "host" in the package view orders by how many hosts a package is pending on.
  { label: 'Hosts', sort: 'host' },
  { label: 'Available' },
  { label: 'Security', sort: 'security' },
  { label: 'Advisories' },
];

function SecurityCell({ security, severity }: { security: boolean; severity: string | null }) {
  return (
    <div role="cell" className="cell-security" title={severity ?? undefined}>
      {security ? <span className="badge security">security</span> : <span className="muted small">—</span>}
      {severity && <span className="small"> {severity}</span>}
    </div>
  );
}

function SelectCell({
  label,
  checked,
  onChange,
}: {
  label: string;
  checked: boolean;
  onChange(on: boolean): void;
}) {
  return (
    <div role="cell" className="cell-select">
      <input
        type="checkbox"
        aria-label={label}
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
      />
    </div>
  );
}

function LoadingRow({ index }: { index: number }) {
  return (
    <div role="row" aria-rowindex={index + 2} className="finding-row loading">
      <div role="cell" className="muted small">
        loading…
      </div>
    </div>
  );
}

const versionText = findingVersionText;
function versionTitle(f: Finding): string {
  if (f.installedVersion !== null) return `${f.installedVersion} → ${f.availableVersion}`;
  return f.kind === 'package'
    ? `Not installed yet: the update pulls in ${f.availableVersion} as a new dependency`
    : f.availableVersion;
}

/** The facet's values, plus the chosen one if a newer audit no longer lists it (so the list shows what filters). */
function optionValues(values: { value: string }[] | undefined, current: string): string[] {
  const list = (values ?? []).map((v) => v.value);
  return current && !list.includes(current) ? [current, ...list] : list;
}

/** One update's row; memoised, so a scroll re-renders only the rows that came into view. */
const FindingRow = memo(function FindingRow({
  finding,
  index,
}: {
  finding: Finding | undefined;
  index: number;
}) {
  const selected = useFindings((s) => (finding ? s.selected.has(rowKey(finding)) : false));
  if (!finding) return <LoadingRow index={index} />;
  if (isKb(finding)) return <KbRow finding={finding} index={index} selected={selected} />;
  const severity = finding.severity ?? finding.vendorSeverity;
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`finding-row${selected ? ' selected' : ''}`}
      data-finding-id={finding.id}
    >
      <SelectCell
        label={`Select ${finding.package}${finding.arch ? ` ${finding.arch}` : ''} on ${finding.hostName}`}
        checked={selected}
        onChange={(on) =>
          useFindings
            .getState()
            .toggleSelected(rowKey(finding), { package: finding.package, hostIds: [finding.hostId] }, on)
        }
      />
      <div role="cell" className="cell-host" title={finding.hostName}>
        <a href={hostHref(finding.hostId)}>{finding.hostName}</a>
      </div>
      <div role="cell" className="cell-package mono" title={finding.package}>
        {finding.package}
      </div>
      <div role="cell" className="cell-arch small mono" title={finding.arch ?? undefined}>
        {finding.arch ?? '—'}
        {finding.kind !== 'package' && <span className="muted"> {finding.kind}</span>}
      </div>
      <div role="cell" className="mono small cell-version" title={versionTitle(finding)}>
        {versionText(finding)}
      </div>
      <RiskCells finding={finding} />
      <div role="cell" className="small cell-repo" title={finding.repository ?? undefined}>
        {finding.repository ?? '—'}
      </div>
      <SecurityCell security={finding.security} severity={severity} />
      <div role="cell" className="small mono cell-advisories" title={finding.advisories.join(', ')}>
        {finding.advisories.length ? finding.advisories.join(', ') : '—'}
      </div>
      <div role="cell" className="small">
        {finding.held && <span className="badge warn">held</span>}
        {finding.rebootRequired && <span className="badge warn">reboot</span>}
      </div>
    </div>
  );
});

/** A Windows update on one host: KB, size, title, categories, MSRC rating, CVEs, restart. */
function KbRow({ finding, index, selected }: { finding: Finding; index: number; selected: boolean }) {
  const details = kbDetails(finding);
  const size = formatBytes(details.sizeBytes);
  const released = formatDate(details.releasedAt);
  const categories = kbCategories(finding).join(', ');
  const restart = kbRestartText(finding);
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`finding-row kb-row${selected ? ' selected' : ''}`}
      data-finding-id={finding.id}
      data-kb={finding.package}
    >
      <SelectCell
        label={`Select ${finding.package} on ${finding.hostName}`}
        checked={selected}
        onChange={(on) =>
          useFindings
            .getState()
            .toggleSelected(rowKey(finding), { package: finding.package, hostIds: [finding.hostId] }, on)
        }
      />
      <div role="cell" className="cell-host" title={finding.hostName}>
        <a href={hostHref(finding.hostId)}>{finding.hostName}</a>
      </div>
      <div role="cell" className="cell-package mono" title={finding.package}>
        {finding.package}
      </div>
      <div
        role="cell"
        className="cell-arch small"
        title={size ? `Download size ${size}` : 'Size not reported'}
      >
        {size ?? '—'}
      </div>
      <div
        role="cell"
        className="small cell-version cell-title"
        title={released ? `${finding.availableVersion} (released ${released})` : finding.availableVersion}
      >
        {finding.availableVersion}
        {released && <span className="muted"> · {released}</span>}
      </div>
      <RiskCells finding={finding} />
      <div role="cell" className="small cell-repo" title={categories || undefined}>
        {categories || '—'}
      </div>
      <SecurityCell security={finding.security} severity={finding.vendorSeverity ?? finding.severity} />
      <div role="cell" className="small mono cell-advisories" title={finding.advisories.join(', ')}>
        {finding.advisories.length ? finding.advisories.join(', ') : '—'}
      </div>
      <div role="cell" className="small cell-restart" title={`Installing it: ${restart}`}>
        {restart === 'no restart' ? (
          <span className="muted">none</span>
        ) : restart === 'restart unknown' ? (
          <span className="muted">unknown</span>
        ) : (
          <span className="badge warn">{restart === 'needs a restart' ? 'restart' : 'may restart'}</span>
        )}
      </div>
    </div>
  );
}

const GroupRow = memo(function GroupRow({
  group,
  index,
}: {
  group: FindingGroup | undefined;
  index: number;
}) {
  const selected = useFindings((s) => (group ? s.selected.has(groupKey(group)) : false));
  if (!group) return <LoadingRow index={index} />;
  const hosts = `${group.hosts.toLocaleString('en')} ${group.hosts === 1 ? 'host' : 'hosts'}`;
  const more = group.advisoriesTotal - group.advisories.length;
  const advisories = group.advisories.join(', ') + (more > 0 ? ` +${more} more` : '');
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`finding-row package-row${selected ? ' selected' : ''}`}
      data-package={group.package}
    >
      <SelectCell
        label={`Select ${group.package} on ${hosts}`}
        checked={selected}
        onChange={(on) =>
          useFindings
            .getState()
            .toggleSelected(groupKey(group), { package: group.package, hostIds: group.hostIds }, on)
        }
      />
      <div role="cell" className="cell-package mono" title={group.package}>
        {group.package}
        {group.kind !== 'package' && group.kind !== 'kb' && (
          <span className="muted small"> ({group.kind})</span>
        )}
      </div>
      <div role="cell" className="cell-arch small mono" title={group.arches.join(', ')}>
        {group.arches.length ? group.arches.join(', ') : '—'}
      </div>
      <div role="cell" className="cell-hosts">
        on {hosts}
      </div>
      <div role="cell" className="mono small cell-version" title={group.availableVersion ?? undefined}>
        {group.availableVersion ?? <span className="muted">{group.availableVersions} versions</span>}
      </div>
      <SecurityCell security={group.security} severity={group.severity} />
      <div role="cell" className="small mono cell-advisories" title={advisories}>
        {advisories || '—'}
      </div>
    </div>
  );
});

function HeaderRow({ columns }: { columns: Column[] }) {
  const sort = useFindings((s) => s.sort);
  const view = useFindings((s) => s.view);
  // "Most hosts first" is the natural order of the Hosts count: a descending one.
  const natural = useFindings((s) => s.direction);
  return (
    <div role="row" aria-rowindex={1} className="finding-row header">
      <div role="columnheader" className="cell-select">
        <span className="visually-hidden">Select</span>
      </div>
      {columns.map((c) => {
        const active = c.sort !== undefined && c.sort === sort;
        const counts = view === 'packages' && c.sort === 'host';
        const direction = counts ? (natural === 'asc' ? 'desc' : 'asc') : natural;
        return (
          <div
            role="columnheader"
            key={c.label}
            aria-sort={
              active ? (direction === 'asc' ? 'ascending' : 'descending') : c.sort ? 'none' : undefined
            }
          >
            {c.sort ? (
              <button
                type="button"
                className={`sort-button${active ? ' active' : ''}`}
                onClick={() => useFindings.getState().sortBy(c.sort!)}
              >
                {c.label}
                <span aria-hidden="true" className="sort-mark">
                  {active ? (direction === 'asc' ? ' ▲' : ' ▼') : ''}
                </span>
              </button>
            ) : (
              c.label
            )}
          </div>
        );
      })}
    </div>
  );
}

/** A filter over one facet's values ("Any", then each value), as the OS, repository and tag filters are. */
function FacetFilter({
  label,
  values,
  value,
  onChange,
}: {
  label: string;
  values: { value: string }[] | undefined;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <Field label={label} className="inline-field">
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
          <option value="">Any</option>
          {optionValues(values, value).map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** Memoised: its hundreds of options re-render when the facets or filters change, not per keystroke. */
const Filters = memo(function Filters({ kinds }: { kinds: RowKinds }) {
  const facets = useFindings((s) => s.facets);
  const filters = useFindings((s) => s.filters);
  const securityOnly = useFindings((s) => s.securityOnly);
  const { setFilters, setSecurityOnly } = useFindings.getState();
  return (
    <div className="toolbar filters" role="group" aria-label="Filters">
      <Field label="Severity" className="inline-field">
        {(id) => (
          <select
            id={id}
            value={filters.severity}
            onChange={(e) => setFilters({ severity: e.target.value as Severity | '' })}
          >
            <option value="">Any</option>
            {(facets?.severities ?? []).map((s) => (
              <option key={s.value} value={s.value}>
                {SEVERITY_LABELS[s.value as Severity] ?? s.value} ({s.count.toLocaleString('en')})
              </option>
            ))}
          </select>
        )}
      </Field>
      <FacetFilter label="OS" values={facets?.os} value={filters.os} onChange={(os) => setFilters({ os })} />
      <FacetFilter
        label={
          kinds === 'packages' ? 'Repository' : kinds === 'kbs' ? 'Categories' : 'Repository or categories'
        }
        values={facets?.repositories}
        value={filters.repository}
        onChange={(repository) => setFilters({ repository })}
      />
      <Field label="Host" className="inline-field">
        {(id) => (
          <select
            id={id}
            value={filters.hostId ?? ''}
            onChange={(e) => setFilters({ hostId: e.target.value ? Number(e.target.value) : null })}
          >
            <option value="">Any</option>
            {(facets?.hosts ?? []).map((h) => (
              <option key={h.id} value={h.id}>
                {h.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <FacetFilter
        label="Tag"
        values={facets?.tags}
        value={filters.tag}
        onChange={(tag) => setFilters({ tag })}
      />
      <label className="inline">
        <input type="checkbox" checked={securityOnly} onChange={(e) => setSecurityOnly(e.target.checked)} />
        Security updates only
      </label>
      <label className="inline">
        <input
          type="checkbox"
          checked={filters.kevOnly}
          onChange={(e) => setFilters({ kevOnly: e.target.checked })}
        />
        Known exploited only
      </label>
      <label className="inline">
        <input
          type="checkbox"
          checked={filters.overdue}
          onChange={(e) => setFilters({ overdue: e.target.checked })}
        />
        Overdue only
      </label>
      <Field label="Tier" className="inline-field">
        {(id) => (
          <select
            id={id}
            value={filters.tier}
            onChange={(e) => setFilters({ tier: e.target.value as Tier | '' })}
          >
            <option value="">Any</option>
            {TIER_ORDER.map((t) => (
              <option key={t} value={t}>
                {TIER_LABELS[t]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="EPSS at least (%)" className="inline-field">
        {(id) => (
          <input
            id={id}
            type="number"
            min={0}
            max={100}
            step="any"
            className="epss-input"
            placeholder="any"
            value={filters.epssAtLeast}
            onChange={(e) => setFilters({ epssAtLeast: e.target.value })}
          />
        )}
      </Field>
      <Field label="Exception" className="inline-field">
        {(id) => (
          <select
            id={id}
            value={filters.hasException}
            onChange={(e) => setFilters({ hasException: e.target.value as 'yes' | 'no' | '' })}
          >
            <option value="">Any</option>
            <option value="yes">Has an exception</option>
            <option value="no">No exception</option>
          </select>
        )}
      </Field>
    </div>
  );
});

/**
 * PCs whose Group Policy points them at a WSUS server: what WSUS has not approved for them is
 * neither listed here nor installable, and the admin must know before reading the list as complete.
 */
function WsusNote() {
  const wsus = useFindings((s) => s.wsusHosts);
  const hosts = useFindings((s) => s.facets?.hosts);
  if (wsus.length === 0) return null;
  const name = (id: number): string => hosts?.find((h) => h.id === id)?.name ?? `host ${id}`;
  const servers = [...new Set(wsus.map((w) => w.server).filter((s): s is string => s !== null))];
  return (
    <p className="warning small" role="note" aria-label="WSUS">
      {wsus.length === 1
        ? `${name(wsus[0]!.hostId)} is managed by WSUS`
        : `${wsus.length} PCs are managed by WSUS (${wsus
            .slice(0, 5)
            .map((w) => name(w.hostId))
            .join(', ')}${wsus.length > 5 ? ', …' : ''})`}
      {servers.length > 0 && ` (${servers.slice(0, 3).join(', ')})`}: only the updates WSUS approved for{' '}
      {wsus.length === 1 ? 'it' : 'them'} are listed here and can be installed. Approve updates there first.
    </p>
  );
}

/**
 * The rows of the table, virtualised: only the rows in view (and a few either side) are in the
 * DOM, at a fixed height, each with its aria-rowindex. This is the only part of the page that
 * re-renders as it scrolls or as pages arrive; the rows themselves are memoised.
 */
function RowsBody({ view }: { view: FindingsView }) {
  const total = useFindings((s) => s.total);
  const pages = useFindings((s) => s.pages);
  const groupPages = useFindings((s) => s.groupPages);
  const sort = useFindings((s) => s.sort);
  const direction = useFindings((s) => s.direction);
  const securityOnly = useFindings((s) => s.securityOnly);
  const search = useFindings((s) => s.search);
  const filters = useFindings((s) => s.filters);
  const { ensureRows } = useFindings.getState();
  const scrollRef = useRef<HTMLDivElement>(null);
  const count = total ?? 0;
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (count > 0) ensureRows(first, last);
  }, [first, last, count, pages, groupPages, ensureRows]);
  // A new query starts at the top.
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [view, sort, direction, securityOnly, search, filters]);
  const findingAt = (index: number): Finding | undefined =>
    pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  const groupAt = (index: number): FindingGroup | undefined =>
    groupPages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  return (
    <div ref={scrollRef} className="findings-scroll" role="rowgroup" tabIndex={0} aria-label="Update rows">
      {total === 0 && <p className="muted pad">No update matches.</p>}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {items.map((item) => (
          <div
            // Keyed by row, not by slot: a focused checkbox scrolled out of view must never become
            // another row's checkbox.
            key={item.key}
            style={{
              position: 'absolute',
              top: 0,
              left: 0,
              right: 0,
              height: ROW_HEIGHT,
              transform: `translateY(${item.start}px)`,
              contain: 'layout style',
            }}
          >
            {view === 'updates' ? (
              <FindingRow finding={findingAt(item.index)} index={item.index} />
            ) : (
              <GroupRow group={groupAt(item.index)} index={item.index} />
            )}
          </div>
        ))}
      </div>
    </div>
  );
}

export function FindingsPage() {
  const view = useFindings((s) => s.view);
  const total = useFindings((s) => s.total);
  const findingsTotal = useFindings((s) => s.findingsTotal);
  const securityTotal = useFindings((s) => s.securityTotal);
  const hostsTotal = useFindings((s) => s.hostsTotal);
  const kinds = useFindings((s) => s.kinds);
  const sort = useFindings((s) => s.sort);
  const securityOnly = useFindings((s) => s.securityOnly);
  const search = useFindings((s) => s.search);
  const filters = useFindings((s) => s.filters);
  const selectedCount = useFindings((s) => s.selected.size);
  const selectionText = useFindings((s) => {
    if (s.selected.size === 0) return 'Select rows to patch them together.';
    const { hostIds, packages } = s.selection();
    const rows = `${s.selected.size.toLocaleString('en')} ${s.selected.size === 1 ? 'row' : 'rows'} selected`;
    const kbs = packages.filter((p) => kbNumber(p) !== null).length;
    const others = packages.length - kbs;
    const what =
      kbs === 0
        ? plural(others, 'package')
        : others === 0
          ? plural(kbs, 'Windows update')
          : `${plural(others, 'package')} and ${plural(kbs, 'Windows update')}`;
    return `${rows}: ${what} on ${plural(hostIds.length, 'host')}`;
  });
  const exporting = useFindings((s) => s.exporting);
  const notice = useFindings((s) => s.notice);
  const error = useFindings((s) => s.error);
  const { setSort, setView, setSearch, reload, loadFacets, clearFilters, clearSelection, exportCsv } =
    useFindings.getState();
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    void reload();
    void loadFacets();
  }, [reload, loadFacets]);
  const count = total ?? 0;
  const filtered = isFiltered({ securityOnly, search, filters });
  const columns =
    view === 'updates'
      ? kinds === 'kbs'
        ? KB_COLUMNS
        : kinds === 'mixed'
          ? MIXED_COLUMNS
          : FINDING_COLUMNS
      : kinds === 'packages'
        ? PACKAGE_COLUMNS
        : PACKAGE_COLUMNS.map((c) =>
            c.label === 'Package' ? { ...c, label: kinds === 'kbs' ? 'KB' : 'Package or KB' } : c,
          );
  const patchThese = () => {
    const { hostIds, packages } = useFindings.getState().selection();
    void openWizardWith({ hostIds, packages });
    clearSelection();
    navigate('jobs');
  };
  const nothingAtAll = total === 0 && !filtered;
  return (
    <div className={`page findings-page view-${view}`}>
      <h1>Updates</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="cards" aria-label="Totals" role="group">
        <div className="card">
          <div className="card-figure" data-testid="total-updates">
            {total === null ? '…' : findingsTotal.toLocaleString('en')}
          </div>
          <div className="card-label">{filtered ? 'matching updates' : 'pending updates'}</div>
        </div>
        {view === 'packages' && (
          <div className="card">
            <div className="card-figure" data-testid="packages-with-updates">
              {total === null ? '…' : total.toLocaleString('en')}
            </div>
            <div className="card-label">
              {kinds === 'kbs' ? 'Windows updates' : kinds === 'mixed' ? 'packages and KBs' : 'packages'}
            </div>
          </div>
        )}
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
          placeholder={
            kinds === 'packages'
              ? 'Search package, host, advisory or CVE'
              : 'Search package, KB, host, advisory or CVE'
          }
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <Field label="Show" className="inline-field">
          {(id) => (
            <select id={id} value={view} onChange={(e) => setView(e.target.value as FindingsView)}>
              <option value="updates">Each update</option>
              <option value="packages">
                {kinds === 'packages'
                  ? 'By package (on how many hosts)'
                  : 'By package or KB (on how many hosts)'}
              </option>
            </select>
          )}
        </Field>
        <Field label="Order" className="inline-field">
          {(id) => (
            <select id={id} value={sort} onChange={(e) => setSort(e.target.value as FindingSort)}>
              <option value="security">Security first</option>
              <option value="host">{view === 'packages' ? 'Most hosts first' : 'By host'}</option>
              <option value="package">By package</option>
              {view === 'updates' && <option value="repository">By repository</option>}
              {view === 'updates' && <option value="risk">By risk (patch first on top)</option>}
              {view === 'updates' && <option value="due">By due date</option>}
            </select>
          )}
        </Field>
        {filtered && (
          <button type="button" className="secondary" onClick={clearFilters}>
            Clear filters
          </button>
        )}
      </div>
      <NoSnapshotNote />
      <Filters kinds={kinds} />
      <WsusNote />
      <div className="toolbar actions" role="group" aria-label="Selected updates">
        <span className="muted" aria-live="polite" data-testid="selected-count">
          {selectionText}
        </span>
        <button type="button" disabled={selectedCount === 0} onClick={patchThese}>
          Patch these
        </button>
        {selectedCount > 0 && (
          <button type="button" className="secondary" onClick={clearSelection}>
            Clear selection
          </button>
        )}
        <span className="spacer" />
        <button
          type="button"
          className="secondary"
          disabled={exporting || total === 0}
          onClick={() => void exportCsv()}
        >
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </div>
      {notice && (
        <p role="status" className="muted small">
          {notice}
        </p>
      )}
      {nothingAtAll ? (
        <EmptyState title="No pending updates">
          <p>
            Every missing update found by the newest audit of each host is listed here — each on its own row
            or grouped by package, security fixes first, with severity, advisories and whether a reboot is
            needed. Audit hosts from the{' '}
            <button type="button" className="link" onClick={() => navigate('hosts')}>
              Hosts page
            </button>
            .
          </p>
        </EmptyState>
      ) : (
        <div
          role="table"
          aria-label={view === 'updates' ? 'Updates' : 'Updates by package'}
          aria-rowcount={count + 1}
          className="findings-table"
        >
          <div role="rowgroup">
            <HeaderRow columns={columns} />
          </div>
          <RowsBody view={view} />
        </div>
      )}
      <ExceptionsSection />
    </div>
  );
}
