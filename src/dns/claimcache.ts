// Incremental name claims (pure): the same answer as `resolveClaims` (split by Space, see
// `bySpace`), recomputing only what changed since the previous call.
//
// Who gets a name splits in three. What an App may claim at all (syntax, reserved zones, allowed
// suffixes, which Space domain a name is in) depends on the App, its Space and the accepted Space
// domains only: it is judged by `resolveClaims` on that App alone and cached per App, keyed by the
// DnsApp object (informer objects are replaced, never changed in place) and a signature of its
// Space and of the domain context. Whether an older App holds a name first then depends on the
// kind of name:
// - a name in the Space's own domain, or in its app.localspace, can only be claimed by Apps of
//   the same Space (any other App is refused it while judged), so it is decided inside the Space;
// - a custom domain may be claimed by any App of any Space: a small cluster-wide index (custom
//   name → oldest claimant) decides it, rebuilt only when a Space with custom domains changes.
// So a render in which one Space changed judges and answers that Space alone (and the Spaces whose
// custom domains changed hands), and hands back the previous SpaceClaims object of every other
// Space, which lets the renderer reuse its work per Space. The capture rule stays exactly
// `resolveClaims`'s: the oldest App that may claim a name has it (render.property.test.ts).
// Input contract (as the snapshot hands it over): Space names are unique, and an unchanged Space
// is the same DnsSpace object.
import { isIP } from 'node:net';
import {
  resolveClaims,
  type AdmittedApp,
  type Claim,
  type ClaimKind,
  type ClaimOptions,
  type Claims,
  type SpaceClaims,
  type SpacedClaims,
} from './claims.ts';
import { compareStrings, normalizeName } from './names.ts';
import type { DnsApp, DnsConflict, DnsSpace } from './types.ts';

interface Item {
  /** Space + `namespace/name`: unique even for input that repeats an App across Spaces. */
  id: string;
  /** `namespace/name`. */
  key: string;
  /** The Space's name. */
  space: string;
  app: DnsApp;
}

/** What an App may claim on its own, before other Apps are considered. */
interface Judged {
  app: DnsApp;
  sig: string;
  claims: Claim[];
  /** The index key of each claim inside its Space (takenKey); custom claims use the global index. */
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

/** One Space as last resolved. */
interface SpaceState {
  source: DnsSpace;
  /** Its Apps oldest first. */
  items: Item[];
  /** By `namespace/name`. */
  judged: Map<string, Judged>;
  /** In `items` order. */
  answers: Answer[];
  /** Its Apps' custom claims (they compete with every Space's). */
  custom: { item: Item; name: string }[];
  result: SpaceClaims;
}

// Unknown creation times sort last (youngest), as in claims.ts.
const age = (created: string | undefined): string => created ?? '9999';

const byAge = (a: Item, b: Item): number =>
  compareStrings(age(a.app.created), age(b.app.created)) ||
  compareStrings(a.space, b.space) ||
  compareStrings(a.app.namespace, b.app.namespace) ||
  compareStrings(a.app.name, b.app.name);

// As in claims.ts: discovery names are answered per Space; default names are in the Space's own
// domain, which no other Space's App may claim.
const takenKey = (name: string, kind: ClaimKind): string => (kind === 'discovery' ? `\u0000${name}` : name);

const EMPTY: SpaceClaims = { apps: [], conflicts: [] };

export class ClaimCache {
  #context = '';
  #domains: { domains: string[]; conflicts: DnsConflict[] } = { domains: [], conflicts: [] };
  #spaces = new Map<string, SpaceState>();
  /** Custom name → its oldest claimant. */
  #holders = new Map<string, Item>();
  /** Each App's last answer (an Item is the same object while its DnsApp is: `ordered`). */
  #answered = new WeakMap<Item, Answer>();

  /** `bySpace(resolveClaims(spaces, opts))`, from what is cached. */
  resolve(spaces: DnsSpace[], opts: ClaimOptions): SpacedClaims {
    // A Space that came or went changes the context (everything is dropped); so does a new domain.
    const contextMoved = this.#setContext(spaces, opts);
    const changed = spaces.filter((sp) => this.#spaces.get(sp.space)?.source !== sp);
    const fresh = this.#judgeChanged(changed, spaces, opts);
    const customMoved = this.#store(fresh) || contextMoved;
    if (customMoved) this.#indexCustom();
    const again = new Set(fresh);
    for (const st of this.#spaces.values()) {
      if (again.has(st) || (customMoved && st.custom.length > 0)) this.#answerSpace(st);
    }
    const out = new Map<string, SpaceClaims>();
    for (const sp of spaces) out.set(sp.space, this.#spaces.get(sp.space)?.result ?? EMPTY);
    return { domains: this.#domains.domains, domainConflicts: this.#domains.conflicts, spaces: out };
  }

  // Keeps the changed Spaces; true when custom domains may have changed hands (a Space that had or
  // has some changed).
  #store(fresh: SpaceState[]): boolean {
    let moved = false;
    for (const st of fresh) {
      const was = this.#spaces.get(st.source.space);
      if ((was?.custom.length ?? 0) > 0 || st.custom.length > 0) moved = true;
      this.#spaces.set(st.source.space, st);
    }
    return moved;
  }

  // A new domain context (the Spaces and their domains, reserved and foreign zones, allowed
  // suffixes) invalidates every judgement, and decides the Space domains again.
  #setContext(spaces: DnsSpace[], opts: ClaimOptions): boolean {
    const context = JSON.stringify([
      opts.clusterDomain,
      opts.foreignZones,
      opts.allowedSuffixes ?? null,
      spaces
        .map((s) => [s.space, s.dnsDomain, s.created ?? null, s.namespace ?? null])
        .sort((a, b) => compareStrings(a[0]!, b[0]!)),
    ]);
    if (context === this.#context) return false;
    this.#context = context;
    const domains = resolveClaims(
      spaces.map((s) => ({ ...s, apps: [] })),
      opts,
    );
    this.#domains = { domains: domains.domains, conflicts: domains.conflicts };
    this.#spaces.clear();
    this.#holders.clear();
    return true;
  }

  // The changed Spaces with their Apps oldest first and every App's judgement: the cached one while
  // it holds, else judged again (judgeStale).
  #judgeChanged(changed: DnsSpace[], spaces: DnsSpace[], opts: ClaimOptions): SpaceState[] {
    const stale: Stale[] = [];
    const states = changed.map((sp) => this.#reuse(sp, stale));
    judgeStale(stale, spaces, opts);
    for (const st of states) st.custom = customClaims(st);
    return states;
  }

  // A changed Space with its Apps oldest first and the judgements that still hold; the others are
  // added to `stale`.
  #reuse(sp: DnsSpace, stale: Stale[]): SpaceState {
    const was = this.#spaces.get(sp.space);
    const items = ordered(sp, was?.items ?? []);
    const judged = new Map<string, Judged>();
    for (const item of items) {
      const hit = cached(was?.judged.get(item.key), item, sp);
      if ('judged' in hit) judged.set(item.key, hit.judged);
      else stale.push({ item, sig: hit.sig, judged });
    }
    return {
      source: sp,
      items,
      judged,
      answers: was?.answers ?? [],
      custom: [],
      result: was?.result ?? EMPTY,
    };
  }

  // Every custom name's oldest claimant, over every Space.
  #indexCustom(): void {
    this.#holders.clear();
    for (const st of this.#spaces.values()) {
      for (const { item, name } of st.custom) {
        const holder = this.#holders.get(name);
        if (!holder || byAge(item, holder) < 0) this.#holders.set(name, item);
      }
    }
  }

  // The Space's Apps with their names minus those an older App holds; the previous SpaceClaims
  // object when every App's answer is the previous one.
  #answerSpace(st: SpaceState): void {
    const taken = new Map<string, string>();
    const answers: Answer[] = [];
    let same = st.answers.length === st.items.length;
    st.items.forEach((item, i) => {
      const judged = st.judged.get(item.key)!;
      const was = this.#answered.get(item);
      const answer = this.#answer(item, judged, taken, was);
      if (answer !== was) this.#answered.set(item, answer);
      if (answer !== st.answers[i]) same = false;
      answers.push(answer);
    });
    st.answers = answers;
    if (same) return;
    const conflicts: DnsConflict[] = [];
    for (const a of answers) conflicts.push(...a.conflicts);
    st.result = { apps: answers.map((a) => a.admitted), conflicts };
  }

  #answer(item: Item, judged: Judged, taken: Map<string, string>, cached: Answer | undefined): Answer {
    const lostTo: [Claim, string][] = [];
    judged.claims.forEach((c, i) => {
      if (c.kind === 'custom') {
        const holder = this.#holders.get(c.name);
        if (holder && holder.id !== item.id) lostTo.push([c, holder.key]);
        return;
      }
      const tk = judged.keys[i]!;
      const holder = taken.get(tk);
      if (holder === undefined) taken.set(tk, item.key);
      else lostTo.push([c, holder]);
    });
    const lost = lostTo.length === 0 ? '' : lostTo.map(([c, h]) => `${c.name}\u0000${h}`).join('\u0001');
    if (cached?.judged === judged && cached.lost === lost && cached.source === item.app) return cached;
    return {
      source: item.app,
      judged,
      lost,
      admitted: admitted(item, judged, new Set(lostTo.map(([c]) => c.name))),
      conflicts: conflictsOf(item, judged, lostTo),
    };
  }
}

/** An App to judge again, and where its judgement goes. */
interface Stale {
  item: Item;
  sig: string;
  judged: Map<string, Judged>;
}

// Judged by resolveClaims on the stale Apps together (every Space present: their domains decide
// what an App may use); Apps that refuse each other a name there (name-taken) are judged again
// one by one, alone.
function judgeStale(stale: Stale[], spaces: DnsSpace[], opts: ClaimOptions): void {
  if (stale.length === 0) return;
  const judge = (batch: Item[]): Claims => {
    const extra = new Map<string, DnsApp[]>();
    for (const it of batch) extra.set(it.space, [...(extra.get(it.space) ?? []), it.app]);
    return resolveClaims(
      spaces.map((s) => ({ ...s, apps: extra.get(s.space) ?? [] })),
      opts,
    );
  };
  const together = indexed(judge(stale.map((x) => x.item)));
  for (const { item, sig, judged } of stale) {
    const refused = together.refused.get(item.key) ?? [];
    const result = refused.some((c) => c.reason === 'name-taken') ? indexed(judge([item])) : together;
    judged.set(item.key, judgedOf(item, sig, result));
  }
}

// The custom claims of a Space's Apps (they compete with every Space's).
function customClaims(st: SpaceState): SpaceState['custom'] {
  const out: SpaceState['custom'] = [];
  for (const item of st.items) {
    for (const c of st.judged.get(item.key)!.claims)
      if (c.kind === 'custom') out.push({ item, name: c.name });
  }
  return out;
}

// The Space's Apps oldest first. An App whose DnsApp is the one it had keeps its Item and its
// place; the new and changed ones are placed by age (binary search), so a Space in which k of n
// Apps changed costs O(n + k log n) comparisons of objects, not a sort of strings.
function ordered(sp: DnsSpace, previous: Item[]): Item[] {
  const current = new Set(sp.apps);
  if (current.size !== sp.apps.length) return sp.apps.map((app) => itemOf(sp.space, app)).sort(byAge);
  const kept = previous.filter((it) => current.has(it.app));
  if (kept.length === sp.apps.length) return kept;
  for (const it of kept) current.delete(it.app);
  const fresh = [...current].map((app) => itemOf(sp.space, app)).sort(byAge);
  const out: Item[] = [];
  let from = 0;
  for (const it of fresh) {
    const at = firstAfter(kept, it, from);
    for (; from < at; from++) out.push(kept[from]!);
    out.push(it);
  }
  for (; from < kept.length; from++) out.push(kept[from]!);
  return out;
}

const itemOf = (space: string, app: DnsApp): Item => {
  const key = `${app.namespace}/${app.name}`;
  return { id: `${space}\u0000${key}`, key, space, app };
};

// The index of the first of sorted `items` (from `from` on) that sorts after `it`.
function firstAfter(items: Item[], it: Item, from: number): number {
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byAge(items[mid]!, it) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// The App's cached judgement while the App, its Space's name and domain, and the domain context
// are the same; else the signature to judge it under.
function cached(was: Judged | undefined, item: Item, sp: DnsSpace): { judged: Judged } | { sig: string } {
  if (was?.app === item.app) return { judged: was };
  const sig = JSON.stringify([
    item.space,
    normalizeName(sp.dnsDomain),
    item.app.name,
    item.app.namespace,
    item.app.names,
  ]);
  if (was?.sig !== sig) return { sig };
  was.app = item.app;
  return { judged: was };
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
function judgedOf(item: Item, sig: string, result: Indexed): Judged {
  const claims = result.claims.get(item.key) ?? [];
  return {
    app: item.app,
    sig,
    claims,
    keys: claims.map((c) => takenKey(c.name, c.kind)),
    refused: result.refused.get(item.key) ?? [],
  };
}

function admitted(item: Item, judged: Judged, lost: Set<string>): AdmittedApp {
  const ip = item.app.clusterIP.trim();
  return {
    key: item.key,
    space: item.space,
    app: { ...item.app, clusterIP: ip },
    claims: lost.size === 0 ? judged.claims : judged.claims.filter((c) => !lost.has(c.name)),
    serving: item.app.ready && isIPAddress(ip),
  };
}

function conflictsOf(item: Item, judged: Judged, lostTo: [Claim, string][]): DnsConflict[] {
  if (lostTo.length === 0) return judged.refused;
  const taken: DnsConflict[] = lostTo.map(([c, holder]) => {
    const message = `the older App ${holder} has it`;
    return {
      reason: 'name-taken',
      heldBy: holder,
      message: `App ${item.key}: ${c.name} is not served: ${message}`,
      name: c.name,
      space: item.space,
      app: item.key,
      why: message,
    };
  });
  // resolveClaims reports an App's refusals in name order.
  return [...judged.refused, ...taken].sort((x, y) => compareStrings(x.name, y.name));
}

const isIPAddress = (ip: string): boolean => isIP(ip) !== 0;
