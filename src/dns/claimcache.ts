// Incremental name claims (pure): the same answer as `resolveClaims`, recomputing only what
// changed since the previous call.
//
// Who gets a name splits in two. What an App may claim at all (syntax, reserved zones, allowed
// suffixes, which Space domain a name is in) depends on the App, its Space and the accepted Space
// domains only: it is judged by `resolveClaims` on that App alone and cached per App, keyed by the
// DnsApp object (informer objects are replaced, never changed in place) and a signature of its
// Space and of the domain context. Whether another App holds a name first is then decided by a
// name → holder index built oldest first over the cached claims (a Map walk, no judging), so the
// capture rule stays exactly `resolveClaims`'s: the oldest App that may claim a name has it.
// The age order itself is re-sorted only when Apps come, go or change age (from the previous
// order, which TimSort finishes in near-linear time).
import { isIP } from 'node:net';
import {
  resolveClaims,
  type AdmittedApp,
  type Claim,
  type ClaimKind,
  type ClaimOptions,
  type Claims,
} from './claims.ts';
import { compareStrings, normalizeName } from './names.ts';
import type { DnsApp, DnsConflict, DnsSpace } from './types.ts';

interface Item {
  /** Space + `namespace/name`: unique even for input that repeats an App across Spaces. */
  id: string;
  space: DnsSpace;
  app: DnsApp;
}

/** What an App may claim on its own, before other Apps are considered. */
interface Judged {
  app: DnsApp;
  sig: string;
  claims: Claim[];
  /** The index key of each claim (takenKey). */
  keys: string[];
  /** Refusals that do not depend on other Apps, by name. */
  refused: DnsConflict[];
}

/** The last answer for one App, reused while its judgement and its lost names stay the same. */
interface Answer {
  /** The DnsApp it was built from (its ClusterIP and readiness are in `admitted`). */
  source: DnsApp;
  judged: Judged;
  lost: string;
  admitted: AdmittedApp;
  conflicts: DnsConflict[];
}

// Unknown creation times sort last (youngest), as in claims.ts.
const age = (created: string | undefined): string => created ?? '9999';

const byAge = (a: Item, b: Item): number =>
  compareStrings(age(a.app.created), age(b.app.created)) ||
  compareStrings(a.space.space, b.space.space) ||
  compareStrings(a.app.namespace, b.app.namespace) ||
  compareStrings(a.app.name, b.app.name);

// As in claims.ts: discovery names are answered per Space, every other name cluster-wide.
const takenKey = (space: string, name: string, kind: ClaimKind): string =>
  kind === 'discovery' ? `${space}\u0000${name}` : name;

export class ClaimCache {
  #judged = new Map<string, Judged>();
  #answers = new Map<string, Answer>();
  #order: Item[] = [];
  #context = '';

  /** `resolveClaims(spaces, opts)`, from what is cached. */
  resolve(spaces: DnsSpace[], opts: ClaimOptions): Claims {
    const bare = spaces.map((s) => ({ ...s, apps: [] as DnsApp[] }));
    const domains = resolveClaims(bare, opts);
    this.#setContext(spaces, opts);
    const items = this.#ordered(spaces);
    const judged = this.#judgeAll(items, spaces, bare, opts);
    const taken = new Map<string, string>();
    const apps: AdmittedApp[] = [];
    const conflicts = [...domains.conflicts];
    const answers = new Map<string, Answer>();
    for (const item of items) {
      const answer = this.#answer(item, judged.get(item.id)!, taken);
      answers.set(item.id, answer);
      apps.push(answer.admitted);
      conflicts.push(...answer.conflicts);
    }
    this.#judged = judged;
    this.#answers = answers;
    return { domains: domains.domains, apps, conflicts };
  }

  // Every App's judgement: the cached one while it holds, else judged by resolveClaims on the
  // changed Apps together (every Space present: their domains decide what an App may use). Apps
  // that refuse each other a name there (name-taken) are judged again one by one, alone.
  #judgeAll(items: Item[], spaces: DnsSpace[], bare: DnsSpace[], opts: ClaimOptions): Map<string, Judged> {
    const out = new Map<string, Judged>();
    const stale: { item: Item; sig: string }[] = [];
    for (const item of items) {
      const hit = this.#cached(item);
      if ('judged' in hit) out.set(item.id, hit.judged);
      else stale.push({ item, sig: hit.sig });
    }
    if (stale.length === 0) return out;
    const judge = (batch: Item[]): Claims => {
      const extra = new Map<DnsSpace, DnsApp[]>();
      for (const it of batch) extra.set(it.space, [...(extra.get(it.space) ?? []), it.app]);
      return resolveClaims(
        spaces.map((s, i) => (extra.has(s) ? { ...s, apps: extra.get(s)! } : bare[i]!)),
        opts,
      );
    };
    const together = indexed(judge(stale.map((x) => x.item)));
    for (const { item, sig } of stale) {
      const key = `${item.app.namespace}/${item.app.name}`;
      const refused = together.refused.get(key) ?? [];
      const result = refused.some((c) => c.reason === 'name-taken') ? indexed(judge([item])) : together;
      out.set(item.id, judgedOf(item, sig, key, result));
    }
    return out;
  }

  // A new domain context (the Spaces and their domains, reserved and foreign zones, allowed
  // suffixes) invalidates every App's judgement.
  #setContext(spaces: DnsSpace[], opts: ClaimOptions): void {
    const context = JSON.stringify([
      opts.clusterDomain,
      opts.foreignZones,
      opts.allowedSuffixes ?? null,
      spaces
        .map((s) => [s.space, s.dnsDomain, s.created ?? null])
        .sort((a, b) => compareStrings(a[0]!, b[0]!)),
    ]);
    if (context === this.#context) return;
    this.#context = context;
    this.#judged.clear();
    this.#answers.clear();
  }

  // Every App oldest first. While no App came, went or changed age or Space, that is the previous
  // order with this render's objects (no sort); otherwise the items are sorted starting from the
  // previous order (new Apps last), which TimSort finishes in near-linear time.
  #ordered(spaces: DnsSpace[]): Item[] {
    const byId = new Map<string, Item>();
    for (const space of spaces)
      for (const app of space.apps) {
        const id = `${space.space}\u0000${app.namespace}/${app.name}`;
        byId.set(id, { id, space, app });
      }
    const kept: Item[] = [];
    for (const was of this.#order) {
      const now = byId.get(was.id);
      if (now && age(now.app.created) === age(was.app.created)) kept.push(now);
    }
    if (kept.length === this.#order.length && kept.length === byId.size) {
      this.#order = kept;
      return kept;
    }
    const rank = new Map(this.#order.map((it, i) => [it.id, i]));
    const last = Number.MAX_SAFE_INTEGER;
    const items = [...byId.values()].sort((a, b) => (rank.get(a.id) ?? last) - (rank.get(b.id) ?? last));
    if (!isSorted(items)) items.sort(byAge);
    this.#order = items;
    return items;
  }

  // The App's cached judgement while the App, its Space's name and domain, and the domain context
  // are the same; else the signature to judge it under.
  #cached(item: Item): { judged: Judged } | { sig: string } {
    const cached = this.#judged.get(item.id);
    if (cached?.app === item.app) return { judged: cached };
    const sig = JSON.stringify([
      item.space.space,
      normalizeName(item.space.dnsDomain),
      item.app.name,
      item.app.namespace,
      item.app.names,
    ]);
    if (cached?.sig !== sig) return { sig };
    cached.app = item.app;
    return { judged: cached };
  }

  // The App's names minus those an older App holds; the previous answer when nothing differs.
  #answer(item: Item, judged: Judged, taken: Map<string, string>): Answer {
    const key = `${item.app.namespace}/${item.app.name}`;
    const lostTo: [Claim, string][] = [];
    judged.claims.forEach((c, i) => {
      const tk = judged.keys[i]!;
      const holder = taken.get(tk);
      if (holder === undefined) taken.set(tk, key);
      else lostTo.push([c, holder]);
    });
    const lost = lostTo.length === 0 ? '' : lostTo.map(([c, h]) => `${c.name}\u0000${h}`).join('\u0001');
    const cached = this.#answers.get(item.id);
    if (cached?.judged === judged && cached.lost === lost && cached.source === item.app) return cached;
    return {
      source: item.app,
      judged,
      lost,
      admitted: admitted(item, key, judged, new Set(lostTo.map(([c]) => c.name))),
      conflicts: conflictsOf(item, key, judged, lostTo),
    };
  }
}

/** resolveClaims's answer by App key. */
interface Indexed {
  claims: Map<string, Claim[]>;
  refused: Map<string, DnsConflict[]>;
}

function indexed(result: Claims): Indexed {
  const refused = new Map<string, DnsConflict[]>();
  for (const c of result.conflicts) {
    if (c.app === undefined) continue;
    const list = refused.get(c.app);
    if (list) list.push(c);
    else refused.set(c.app, [c]);
  }
  return { claims: new Map(result.apps.map((a) => [a.key, a.claims])), refused };
}

// What resolveClaims said of one App when no older App could take its names.
function judgedOf(item: Item, sig: string, key: string, result: Indexed): Judged {
  const claims = result.claims.get(key) ?? [];
  return {
    app: item.app,
    sig,
    claims,
    keys: claims.map((c) => takenKey(item.space.space, c.name, c.kind)),
    refused: result.refused.get(key) ?? [],
  };
}

function isSorted(items: Item[]): boolean {
  for (let i = 1; i < items.length; i++) if (byAge(items[i - 1]!, items[i]!) > 0) return false;
  return true;
}

function admitted(item: Item, key: string, judged: Judged, lost: Set<string>): AdmittedApp {
  const ip = item.app.clusterIP.trim();
  return {
    key,
    space: item.space.space,
    app: { ...item.app, clusterIP: ip },
    claims: lost.size === 0 ? judged.claims : judged.claims.filter((c) => !lost.has(c.name)),
    serving: item.app.ready && isIPAddress(ip),
  };
}

function conflictsOf(item: Item, key: string, judged: Judged, lostTo: [Claim, string][]): DnsConflict[] {
  if (lostTo.length === 0) return judged.refused;
  const taken: DnsConflict[] = lostTo.map(([c, holder]) => {
    const message = `the older App ${holder} has it`;
    return {
      reason: 'name-taken',
      heldBy: holder,
      message: `App ${key}: ${c.name} is not served: ${message}`,
      name: c.name,
      space: item.space.space,
      app: key,
      why: message,
    };
  });
  // resolveClaims reports an App's refusals in name order.
  return [...judged.refused, ...taken].sort((x, y) => compareStrings(x.name, y.name));
}

const isIPAddress = (ip: string): boolean => isIP(ip) !== 0;
