// Incremental name claims (pure): the same answer as `resolveClaims` (split by Space, see
// `bySpace`), recomputing only what changed since the previous call.
//
// Who gets a name splits in three. What an App may claim at all (syntax, reserved zones, allowed
// suffixes, which Space domain a name is in) depends on the App, its Space and the accepted Space
// domains only: it is judged (`claimApps`, against the Space domains decided once per domain
// context by `claimDomains`) and cached per App, keyed by the DnsApp object (informer objects are
// replaced, never changed in place) and a signature of its Space and of the domain context. Whether an older App holds a name first then depends on the
// kind of name:
// - a name in the Space's own domain, or in its app.localspace, can only be claimed by Apps of
//   the same Space (any other App is refused it while judged), so it is decided inside the Space;
// - a custom domain may be claimed by any App of any Space: a small cluster-wide index (custom
//   name → oldest claimant) decides it, rebuilt only when a Space with custom domains changes.
// So a render in which one Space changed judges and answers that Space alone (and the Spaces whose
// custom domains changed hands), and hands back the previous SpaceClaims object of every other
// Space, which lets the renderer reuse its work per Space. The capture rule stays exactly
// `resolveClaims`'s: the oldest App that may claim a name has it (render.property.test.ts).
// Inside a changed Space, the work is that of the Apps that changed (issue 21): its DnsApps are
// compared place by place with the previous DnsSpace's (`changeOf`); the Items of the others are
// kept where they are, and when every new DnsApp replaces one at the same place with the same
// judgement, or is the youngest, only those are answered (`#answerChange`, against the Space's
// names as its last answer left them). Anything else answers the whole Space again.
// Input contract (as the snapshot hands it over): Space names are unique, an unchanged Space is
// the same DnsSpace object, and a Space's Apps are those of its namespace (no key twice).
import { isIP } from 'node:net';
import {
  claimApps,
  claimDomains,
  type DomainClaims,
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
  /** Each name (takenKey) of its Apps → the oldest claimant's key, as of its last answer. */
  taken: Map<string, string>;
  /** How its Apps differ from those of the state it was made from; undefined: made whole. */
  change?: Change;
}

/** The Items of a Space's new DnsApps, and those of the DnsApps it no longer has. */
interface Change {
  fresh: Item[];
  gone: Item[];
  /** The Judged each gone Item had. */
  judgedBefore: Map<Item, Judged | undefined>;
  /** The state's Items before. */
  items: Item[];
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
  #decided: DomainClaims = claimDomains([], { clusterDomain: 'cluster.local', foreignZones: [] });
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
    const fresh = this.#judgeChanged(changed, spaces);
    const customMoved = this.#store(fresh) || contextMoved;
    if (customMoved) this.#indexCustom();
    const again = new Set(fresh);
    for (const st of this.#spaces.values()) {
      const custom = customMoved && st.custom.length > 0;
      if (again.has(st) || custom) this.#answerSpace(st, custom);
    }
    const out = new Map<string, SpaceClaims>();
    for (const sp of spaces) out.set(sp.space, this.#spaces.get(sp.space)?.result ?? EMPTY);
    return { domains: this.#decided.domains, domainConflicts: [...this.#decided.conflicts], spaces: out };
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
    this.#decided = claimDomains(spaces, opts);
    this.#spaces.clear();
    this.#holders.clear();
    return true;
  }

  // The changed Spaces with their Apps oldest first and every App's judgement: the cached one while
  // it holds, else judged again (judgeStale).
  #judgeChanged(changed: DnsSpace[], spaces: DnsSpace[]): SpaceState[] {
    const stale: Stale[] = [];
    const states = changed.map((sp) => this.#reuse(sp, stale));
    judgeStale(stale, spaces, this.#decided);
    for (const st of states) st.custom = sameCustom(st) ? st.custom : customClaims(st);
    return states;
  }

  // A changed Space with its Apps oldest first and the judgements that still hold; the others are
  // added to `stale`. Made from the previous state when its Apps are those of the previous DnsSpace
  // with some replaced, added or gone (`changeOf`), else whole.
  #reuse(sp: DnsSpace, stale: Stale[]): SpaceState {
    const was = this.#spaces.get(sp.space);
    const change = was === undefined ? undefined : changeOf(was, sp);
    if (was !== undefined && change !== undefined) return changedState(was, sp, change, stale);
    return wholeState(was, sp, stale);
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
  #answerSpace(st: SpaceState, whole: boolean): void {
    const change = st.change;
    st.change = undefined;
    if (!whole && change !== undefined && this.#answerChange(st, change)) return;
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
    st.taken = taken;
    if (same) return;
    st.result = resultOf(answers);
  }

  // Answers only the Apps that changed, when that gives the same answers as a whole pass: each new
  // DnsApp replaces one at the same place with the same judgement (so the same names; it holds
  // those it held), or comes after every other App (the youngest: it claims after them). Else
  // false, and nothing is changed.
  #answerChange(st: SpaceState, change: Change): boolean {
    const places = replacedPlaces(st, change);
    if (places === undefined) return false;
    const answers = [...st.answers];
    let same = true;
    for (const [i, item] of places) {
      const was = this.#answered.get(item);
      const answer = this.#answer(item, st.judged.get(item.key)!, st.taken, was, i < answers.length);
      if (answer !== was) this.#answered.set(item, answer);
      if (answer !== answers[i]) same = false;
      answers[i] = answer;
    }
    st.answers = answers;
    if (!same) st.result = resultOf(answers);
    return true;
  }

  // An App's answer: its names minus those an older App holds. In a pass over the Space's Apps
  // oldest first, `taken` holds the older Apps' names and the App's are added; `held`: `taken`
  // already holds every App's names (the Space's last answer), and the App keeps those it holds.
  #answer(
    item: Item,
    judged: Judged,
    taken: Map<string, string>,
    cached: Answer | undefined,
    held = false,
  ): Answer {
    const lostTo: [Claim, string][] = [];
    judged.claims.forEach((c, i) => {
      const holder = c.kind === 'custom' ? this.#holders.get(c.name) : undefined;
      if (holder) {
        if (holder.id !== item.id) lostTo.push([c, holder.key]);
        return;
      }
      if (c.kind === 'custom') return;
      const tk = judged.keys[i]!;
      const other = taken.get(tk);
      if (other === undefined) taken.set(tk, item.key);
      else if (!held || other !== item.key) lostTo.push([c, other]);
    });
    return this.#answerOf(item, judged, lostTo, cached);
  }

  #answerOf(item: Item, judged: Judged, lostTo: [Claim, string][], cached: Answer | undefined): Answer {
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

// A Space's answer: its Apps as admitted, and their refusals, in age order.
function resultOf(answers: readonly Answer[]): SpaceClaims {
  const conflicts: DnsConflict[] = [];
  for (const a of answers) if (a.conflicts.length > 0) conflicts.push(...a.conflicts);
  return { apps: answers.map((a) => a.admitted), conflicts };
}

// Each Item's judgement from `before` (by key) while it holds, into `judged`; the others are added
// to `stale`, to be judged into `judged`.
function judgeInto(
  judged: Map<string, Judged>,
  items: readonly Item[],
  before: ReadonlyMap<string, Judged> | undefined,
  sp: DnsSpace,
  stale: Stale[],
): void {
  for (const item of items) {
    const hit = cached(before?.get(item.key), item, sp);
    if ('judged' in hit) judged.set(item.key, hit.judged);
    else stale.push({ item, sig: hit.sig, judged });
  }
}

// A changed Space made whole: its Apps oldest first (the previous Items of the same DnsApps kept),
// and the judgements that still hold (the others are added to `stale`).
function wholeState(was: SpaceState | undefined, sp: DnsSpace, stale: Stale[]): SpaceState {
  const items = ordered(sp, was?.items ?? []);
  const judged = new Map<string, Judged>();
  judgeInto(judged, items, was?.judged, sp, stale);
  return {
    source: sp,
    items,
    judged,
    answers: was?.answers ?? [],
    custom: [],
    result: was?.result ?? EMPTY,
    taken: new Map(),
  };
}

// How the Space's DnsApps differ from those of its previous state, place by place (a DnsApp that
// only moved is neither gone nor fresh: it keeps its Item); undefined when an App went whose Item
// cannot be found, or a DnsApp is there twice.
function changeOf(was: SpaceState, sp: DnsSpace): Change | undefined {
  const before = was.source.apps;
  let goneApps: DnsApp[] = [];
  let freshApps: DnsApp[] = [];
  for (let i = 0; i < Math.max(before.length, sp.apps.length); i++) {
    if (before[i] === sp.apps[i]) continue;
    if (i < before.length) goneApps.push(before[i]!);
    if (i < sp.apps.length) freshApps.push(sp.apps[i]!);
  }
  if (goneApps.length > 0 && freshApps.length > 0) {
    const g = new Set(goneApps);
    const f = new Set(freshApps);
    if (f.size !== freshApps.length) return undefined;
    goneApps = goneApps.filter((a) => !f.has(a));
    freshApps = freshApps.filter((a) => !g.has(a));
  }
  const gone: Item[] = [];
  for (const app of goneApps) {
    const item = findItem(was.items, itemOf(sp.space, app));
    if (item === undefined) return undefined;
    gone.push(item);
  }
  const judgedBefore = new Map(gone.map((it) => [it, was.judged.get(it.key)]));
  return { fresh: freshApps.map((app) => itemOf(sp.space, app)), gone, judgedBefore, items: was.items };
}

// The Item of `probe`'s DnsApp in `items` (oldest first), found by age.
function findItem(items: readonly Item[], probe: Item): Item | undefined {
  const at = firstAfter(items as Item[], probe, 0) - 1;
  return at >= 0 && items[at]!.app === probe.app ? items[at] : undefined;
}

// The previous state's Items without the gone ones and with the fresh ones at their places by age;
// its judgements for them (the stale ones are added to `stale`), and its answers for the others.
function changedState(was: SpaceState, sp: DnsSpace, change: Change, stale: Stale[]): SpaceState {
  const gone = new Set(change.gone);
  const items =
    gone.size === 0 && change.fresh.length === 0 ? was.items : was.items.filter((it) => !gone.has(it));
  for (const it of change.fresh) items.splice(firstAfter(items, it, 0), 0, it);
  // The judgements by key are the previous state's map, changed in place (it is no longer used).
  const judged = was.judged;
  const freshKeys = new Set(change.fresh.map((it) => it.key));
  for (const it of change.gone) if (!freshKeys.has(it.key)) judged.delete(it.key);
  judgeInto(judged, change.fresh, judged, sp, stale);
  return {
    source: sp,
    items,
    judged,
    answers: was.answers,
    custom: was.custom,
    result: was.result,
    taken: was.taken,
    change,
  };
}

// A state made from the previous one keeps its custom claims when neither they nor any App that
// came or went has one.
function sameCustom(st: SpaceState): boolean {
  const change = st.change;
  if (change === undefined || st.custom.length > 0) return false;
  const custom = (j: Judged | undefined): boolean => (j?.claims ?? []).some((c) => c.kind === 'custom');
  return (
    !change.fresh.some((it) => custom(st.judged.get(it.key))) &&
    !change.gone.some((it) => custom(change.judgedBefore.get(it)))
  );
}

// The places (in the state's Items) of the Apps to answer again, when answering only them gives
// the same answers as a whole pass: every fresh Item replaces a gone one of its key at the same
// place with the same Judged, or comes after every previous Item. Undefined otherwise.
function replacedPlaces(st: SpaceState, change: Change): [number, Item][] | undefined {
  if (change.items.length !== st.answers.length) return undefined;
  const goneBy = new Map(change.gone.map((it) => [it.key, it]));
  const places: [number, Item][] = [];
  for (const item of change.fresh) {
    const i = firstAfter(st.items, item, 0) - 1;
    const g = goneBy.get(item.key);
    goneBy.delete(item.key);
    const replaces =
      g !== undefined && change.items[i] === g && change.judgedBefore.get(g) === st.judged.get(item.key);
    if (!replaces && (g !== undefined || i < change.items.length)) return undefined;
    places.push([i, item]);
  }
  return goneBy.size === 0 ? places.sort((x, y) => x[0] - y[0]) : undefined;
}

/** An App to judge again, and where its judgement goes. */
interface Stale {
  item: Item;
  sig: string;
  judged: Map<string, Judged>;
}

// Judged on the stale Apps together, against the Space domains decided (claimApps); Apps that
// refuse each other a name there (name-taken) are judged again one by one, alone.
function judgeStale(stale: Stale[], spaces: DnsSpace[], decided: DomainClaims): void {
  if (stale.length === 0) return;
  const byName = new Map(spaces.map((s) => [s.space, s]));
  const judge = (batch: Item[]): Claims => {
    const extra = new Map<string, DnsApp[]>();
    for (const it of batch) extra.set(it.space, [...(extra.get(it.space) ?? []), it.app]);
    return claimApps(
      decided,
      [...extra].map(([space, apps]) => ({ ...byName.get(space)!, apps })),
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
