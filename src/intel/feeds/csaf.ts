import { cvssScore } from '../cvss';
import { canonicalEcosystem } from '../ecosystem';
import type { AdvisoryRecord, AdvisorySeverity, AffectedPackage, FeedReader } from '../types';
import {
  checkAborted,
  cleanText,
  feedError,
  isCveId,
  isObject,
  isoDate,
  isPackageName,
  isVersion,
  JsonWalker,
  LIMITS,
  sourceText,
  type FeedSource,
  type JsonKind,
  type JsonPath,
} from './common';

/**
 * Red Hat's CSAF 2.0 files (https://access.redhat.com/security/data/csaf/v2/): one advisory
 * (RHSA-…) or one CVE's VEX per document. The document names products (a RHEL release by its
 * CPE), components (an rpm by its purl) and "component of product" relationships; each
 * vulnerability lists the relationship ids it fixes. Streamed: the document header, each product,
 * each relationship and each vulnerability are held one at a time; what is kept is the small map
 * from ids to CPEs and purls. Products outside the RHEL releases Patchdeck audits (OpenShift …)
 * are skipped and counted.
 */

const DOC_ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;

const RED_HAT_IMPACT: Readonly<Record<string, AdvisorySeverity>> = {
  critical: 'critical',
  important: 'high',
  moderate: 'medium',
  low: 'low',
};

interface Component {
  name: string;
  /** "[epoch:]version-release", null when the purl names no version (a VEX's affected component). */
  evr: string | null;
  arch: string | null;
}

/** `pkg:rpm/redhat/name@version-release?arch=x86_64&epoch=1` → name, EVR and arch; null when it is not an rpm purl. */
export function parseRpmPurl(purl: string): Component | null {
  if (purl.length > 1024 || !purl.startsWith('pkg:rpm/')) return null;
  const [path, query = ''] = purl.slice('pkg:rpm/'.length).split('?', 2) as [string, string?];
  const slash = path.indexOf('/');
  const nameVersion = slash >= 0 ? path.slice(slash + 1) : path;
  const at = nameVersion.indexOf('@');
  let name: string;
  let version: string | null;
  try {
    name = decodeURIComponent(at >= 0 ? nameVersion.slice(0, at) : nameVersion);
    version = at >= 0 ? decodeURIComponent(nameVersion.slice(at + 1)) : null;
  } catch {
    return null;
  }
  const params = new URLSearchParams(query);
  const epoch = params.get('epoch');
  const arch = params.get('arch');
  if (!isPackageName(name) || (version !== null && !isVersion(version))) return null;
  if (epoch !== null && !/^\d{1,10}$/.test(epoch)) return null;
  const evr = version === null ? null : epoch && epoch !== '0' ? `${epoch}:${version}` : version;
  return { name, evr, arch: arch && /^[\w.-]{1,32}$/.test(arch) ? arch : null };
}

/** `cpe:/o:redhat:enterprise_linux:9::baseos` → 'Red Hat:9'; null for other products. */
function ecosystemOfCpe(cpe: string): string | null {
  const m = /^cpe:\/[aho]:redhat:([^:]{1,64}):([^:]{1,32})(?::.{0,64})?$/.exec(cpe);
  return m ? canonicalEcosystem(`Red Hat:${m[1]}:${m[2]}`) : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string' && v.length <= 1024)
    : [];
}

export async function* readCsaf(source: FeedSource, signal?: AbortSignal): FeedReader {
  const file = source.name;
  let header: Record<string, unknown> | null = null;
  const products = new Map<string, { cpe: string | null; purl: string | null }>();
  const relationships = new Map<string, { component: string; product: string }>();
  const statuses: { status: AffectedPackage['status']; ids: string[] }[] = [];
  const cves = new Set<string>();
  let best: { rank: number; score: number; vector: string; severity: AdvisorySeverity } | null = null;
  let impact: { rank: number; word: string } | null = null;
  let held = 0;
  const hold = (n: number): void => {
    held += n;
    if (held > LIMITS.records)
      throw feedError(file, `names more than ${LIMITS.records} products and statuses.`);
  };

  const vulnerability = (value: unknown): void => {
    if (!isObject(value)) throw feedError(file, 'has a vulnerability that is not an object.');
    if (typeof value.cve === 'string' && isCveId(value.cve)) cves.add(value.cve);
    const status = value.product_status;
    if (status !== undefined && !isObject(status))
      throw feedError(file, 'has a product_status that is not an object.');
    if (status) {
      for (const [key, kind] of [
        ['fixed', 'fixed'],
        ['known_affected', 'open'],
        ['known_not_affected', 'not-affected'],
      ] as const) {
        const ids = strings(status[key]);
        hold(ids.length);
        if (ids.length > 0) statuses.push({ status: kind, ids });
      }
    }
    for (const score of Array.isArray(value.scores) ? value.scores : []) {
      if (!isObject(score)) continue;
      for (const key of ['cvss_v4', 'cvss_v3', 'cvss_v2']) {
        const cvss = score[key];
        if (!isObject(cvss) || typeof cvss.vectorString !== 'string' || cvss.vectorString.length > 512)
          continue;
        const parsed = cvssScore(cvss.vectorString);
        if (!parsed) continue;
        const rank = { '4.0': 4, '3.1': 3, '3.0': 2, '2.0': 1 }[parsed.version] ?? 0;
        if (!best || rank > best.rank || (rank === best.rank && parsed.score > best.score))
          best = { rank, score: parsed.score, vector: cvss.vectorString, severity: parsed.severity };
      }
    }
    for (const threat of Array.isArray(value.threats) ? value.threats : []) {
      if (!isObject(threat) || threat.category !== 'impact' || typeof threat.details !== 'string') continue;
      const word = threat.details.trim().toLowerCase();
      const rank = ['low', 'moderate', 'important', 'critical'].indexOf(word);
      if (rank >= 0 && (!impact || rank > impact.rank)) impact = { rank, word };
    }
  };

  const walker = new JsonWalker(file, {
    enter(path: JsonPath, kind: JsonKind) {
      if (path.length === 0) {
        if (kind !== 'object') throw feedError(file, 'is not a CSAF document (not a JSON object).');
        return 'skip';
      }
      if (path.length === 1 && path[0] === 'document') return 'capture';
      if (path[0] === 'product_tree') {
        if (path[1] === 'relationships' && path.length === 3) return 'capture';
        if (path[1] === 'branches' && path[path.length - 1] === 'product' && kind === 'object')
          return 'capture';
        return 'skip';
      }
      if (path[0] === 'vulnerabilities' && path.length === 2) return 'capture';
      return 'skip';
    },
    value(path: JsonPath, value: unknown) {
      if (path[0] === 'document') {
        if (!isObject(value)) throw feedError(file, 'has a "document" that is not an object.');
        header = value;
      } else if (path[0] === 'vulnerabilities') vulnerability(value);
      else if (path[1] === 'relationships') {
        if (!isObject(value)) throw feedError(file, 'has a relationship that is not an object.');
        const full = isObject(value.full_product_name) ? value.full_product_name.product_id : undefined;
        const { product_reference: component, relates_to_product_reference: product } = value;
        if (typeof full === 'string' && typeof component === 'string' && typeof product === 'string') {
          hold(1);
          relationships.set(full, { component, product });
        }
      } else {
        if (!isObject(value)) throw feedError(file, 'has a product that is not an object.');
        const id = value.product_id;
        const helper = isObject(value.product_identification_helper)
          ? value.product_identification_helper
          : {};
        if (typeof id === 'string') {
          hold(1);
          products.set(id, {
            cpe: typeof helper.cpe === 'string' ? helper.cpe : null,
            purl: typeof helper.purl === 'string' ? helper.purl : null,
          });
        }
      }
    },
  });
  for await (const text of sourceText(source, signal)) {
    walker.write(text);
    checkAborted(signal);
  }
  walker.end();

  const doc = header as Record<string, unknown> | null;
  if (!doc || typeof doc.csaf_version !== 'string')
    throw feedError(file, 'is not a CSAF document (no document.csaf_version).');
  const tracking = isObject(doc.tracking) ? doc.tracking : {};
  const id = tracking.id;
  if (typeof id !== 'string' || !DOC_ID.test(id))
    throw feedError(file, 'is not a CSAF document (no valid tracking id).');

  const affected: AffectedPackage[] = [];
  const keys = new Set<string>();
  const ecosystems = new Set<string>();
  let skippedProducts = 0;
  for (const { status, ids } of statuses)
    for (const productId of ids) {
      const rel = relationships.get(productId);
      const cpe = rel ? products.get(rel.product)?.cpe : null;
      const ecosystem = cpe ? ecosystemOfCpe(cpe) : null;
      const purl = rel ? products.get(rel.component)?.purl : null;
      const component = purl ? parseRpmPurl(purl) : null;
      if (!ecosystem || !component || (status === 'fixed' && component.evr === null)) {
        skippedProducts++;
        continue;
      }
      const row: AffectedPackage = {
        ecosystem,
        package: component.name,
        nameKind: component.arch === 'src' ? 'source' : 'binary',
        introduced: null,
        fixed: status === 'fixed' ? component.evr : null,
        status,
        urgency: null,
      };
      const key = `${row.ecosystem}\u0000${row.package}\u0000${row.nameKind}\u0000${row.status}\u0000${row.fixed}`;
      if (keys.has(key)) continue;
      keys.add(key);
      affected.push(row);
      ecosystems.add(ecosystem);
    }

  const details: Record<string, string> = {};
  if (skippedProducts > 0) details.skippedProducts = String(skippedProducts);
  const modifiedAt = isoDate(tracking.current_release_date);
  const facts = {
    feed: 'csaf' as const,
    publisher: 'Red Hat',
    publishedAt: modifiedAt,
    recordCount: 0,
    ecosystems: [...ecosystems].sort(),
    details,
  };
  if (affected.length === 0) {
    details.skippedRecords = '1';
    return facts;
  }
  const aggregate = isObject(doc.aggregate_severity) ? doc.aggregate_severity.text : undefined;
  const word =
    typeof aggregate === 'string' && aggregate.toLowerCase() in RED_HAT_IMPACT
      ? aggregate
      : ((impact as { word: string } | null)?.word ?? null);
  const strongest = best as { vector: string; score: number; severity: AdvisorySeverity } | null;
  let url: string | null = null;
  for (const ref of Array.isArray(doc.references) ? doc.references : [])
    if (
      isObject(ref) &&
      ref.category === 'self' &&
      typeof ref.url === 'string' &&
      /^https:\/\/access\.redhat\.com\/errata\//.test(ref.url)
    ) {
      url = cleanText(ref.url, 2048);
      break;
    }
  if (isCveId(id)) cves.add(id);
  const record: AdvisoryRecord = {
    feed: 'csaf',
    advisoryId: id,
    summary: cleanText(doc.title, 1024),
    severity: word ? RED_HAT_IMPACT[word.toLowerCase()]! : (strongest?.severity ?? null),
    vendorSeverity: word ? cleanText(word, 40) : null,
    cvssVector: strongest?.vector ?? null,
    cvssScore: strongest?.score ?? null,
    publishedAt: isoDate(tracking.initial_release_date),
    modifiedAt,
    cves: [...cves].sort(),
    url,
    withdrawn: false,
    affected,
  };
  yield { kind: 'advisory', record };
  return { ...facts, recordCount: 1 };
}
