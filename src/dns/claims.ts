// Who may answer for which name, decided the same way whatever order the input comes in:
// Spaces claim their dnsDomain oldest first, then Apps (of every Space) claim their names
// oldest first. A refused claim is a conflict, reported, never served; nothing is served twice,
// so the rendered server blocks can never declare the same zone twice (which CoreDNS refuses).
import { isIP } from 'node:net';
import {
  LOCALSPACE_ZONE,
  compareStrings,
  inZone,
  isValidName,
  normalizeName,
  overlaps,
  reservedBecause,
  reservedZones,
} from './names.ts';
import { allowedSuffixOf } from '../model/dns.ts';
import { DEFAULT_DNS_SUFFIX } from '../model/space.ts';
import type { DnsApp, DnsConflict, DnsSpace } from './types.ts';

export type ClaimKind = 'default' | 'discovery' | 'custom';

export interface Claim {
  name: string;
  kind: ClaimKind;
}

/** An App with the names it holds, in age order. */
export interface AdmittedApp {
  /** `namespace/name`. */
  key: string;
  space: string;
  app: DnsApp;
  /** Sorted by name. */
  claims: Claim[];
  /** True when it has a ClusterIP and a ready endpoint: its names are answered. */
  serving: boolean;
}

export interface Claims {
  /** Accepted Space domains, sorted. */
  domains: string[];
  /** Apps oldest first (then by space, namespace, name). */
  apps: AdmittedApp[];
  conflicts: DnsConflict[];
}

/** One Space's part of the answer: its Apps oldest first, and their refusals in that order. */
export interface SpaceClaims {
  apps: AdmittedApp[];
  conflicts: DnsConflict[];
}

/**
 * The same answer split by Space (what the renderer reads): an App's names depend on other Spaces
 * only through custom domains, so an incremental resolver (claimcache.ts) hands back the previous
 * SpaceClaims object of every Space whose answer is the same.
 */
export interface SpacedClaims {
  /** Accepted Space domains, sorted. */
  domains: string[];
  /** Refused Space domains. */
  domainConflicts: DnsConflict[];
  /** By Space name; a Space without Apps may be missing. */
  spaces: ReadonlyMap<string, SpaceClaims>;
}

/** `claims` split by Space, each Space's Apps and refusals in the same (age) order. */
export function bySpace(claims: Claims): SpacedClaims {
  const spaces = new Map<string, SpaceClaims>();
  const of = (space: string): SpaceClaims => {
    let sc = spaces.get(space);
    if (!sc) spaces.set(space, (sc = { apps: [], conflicts: [] }));
    return sc;
  };
  for (const a of claims.apps) of(a.space).apps.push(a);
  const domainConflicts: DnsConflict[] = [];
  for (const c of claims.conflicts) {
    if (c.app === undefined) domainConflicts.push(c);
    else of(c.space).conflicts.push(c);
  }
  return { domains: claims.domains, domainConflicts, spaces };
}

export interface ClaimOptions {
  clusterDomain: string;
  foreignZones: string[];
  /** See RenderOptions.allowedSuffixes: undefined = not checked. */
  allowedSuffixes?: readonly string[];
}

// Unknown creation times sort last (youngest).
const age = (created: string | undefined): string => created ?? '9999';

interface Context {
  reserved: string[];
  foreign: string[];
  /** Accepted dnsDomain → space. */
  domains: Map<string, string>;
  /** Claimed name → `namespace/name` of the holder (discovery names: per Space, see takenKey). */
  taken: Map<string, string>;
  conflicts: DnsConflict[];
  allowed: readonly string[] | undefined;
}

// Discovery names are answered per Space (each Space's CoreDNS view has its own app.localspace),
// so two Spaces may both have web.payments.app.localspace; every other name is cluster-wide.
const takenKey = (s: DnsSpace, name: string, kind: ClaimKind): string =>
  kind === 'discovery' ? `${s.space}\u0000${name}` : name;

export function resolveClaims(spaces: DnsSpace[], opts: ClaimOptions): Claims {
  return claimApps(claimDomains(spaces, opts), spaces);
}

/** The Spaces' domains decided (step 1), to judge Apps against (`claimApps`) as often as needed. */
export interface DomainClaims {
  /** Accepted Space domains, sorted. */
  domains: string[];
  /** Refused Space domains. */
  conflicts: readonly DnsConflict[];
  /** What the Apps are judged against (never changed by `claimApps`). */
  readonly ctx: Readonly<Context>;
}

/** Step 1: the Spaces claim their dnsDomain, oldest first. */
export function claimDomains(spaces: readonly DnsSpace[], opts: ClaimOptions): DomainClaims {
  const ctx: Context = {
    reserved: reservedZones(opts.clusterDomain),
    foreign: opts.foreignZones.map(normalizeName),
    domains: new Map(),
    taken: new Map(),
    conflicts: [],
    allowed: opts.allowedSuffixes,
  };
  const bySpaceAge = [...spaces].sort(
    (a, b) => compareStrings(age(a.created), age(b.created)) || compareStrings(a.space, b.space),
  );
  for (const s of bySpaceAge) claimDomain(ctx, s);
  return { domains: [...ctx.domains.keys()].sort(compareStrings), conflicts: ctx.conflicts, ctx };
}

/**
 * Step 2: the Apps of `spaces` claim their names, oldest first, against the domains decided by
 * `claimDomains` (over every Space: a Space without Apps to judge may be left out of `spaces`).
 */
export function claimApps(decided: DomainClaims, spaces: readonly DnsSpace[]): Claims {
  const ctx: Context = { ...decided.ctx, taken: new Map(), conflicts: [...decided.conflicts] };
  const apps = spaces.flatMap((s) => s.apps.map((app) => ({ space: s, app })));
  apps.sort(
    (a, b) =>
      compareStrings(age(a.app.created), age(b.app.created)) ||
      compareStrings(a.space.space, b.space.space) ||
      compareStrings(a.app.namespace, b.app.namespace) ||
      compareStrings(a.app.name, b.app.name),
  );
  const admitted = apps.map(({ space, app }) => admitApp(ctx, space, app));
  return { domains: decided.domains, apps: admitted, conflicts: ctx.conflicts };
}

function claimDomain(ctx: Context, s: DnsSpace): void {
  const domain = normalizeName(s.dnsDomain);
  const refuse = (reason: DnsConflict['reason'], message: string, heldBy?: string): void => {
    ctx.conflicts.push({
      reason,
      name: domain,
      space: s.space,
      heldBy,
      message: `Space ${s.space}: ${message}`,
    });
  };
  if (!isValidName(domain))
    return refuse('invalid-name', `dnsDomain "${domain}" is not a DNS name of two labels or more`);
  const why = reservedBecause(domain, ctx.reserved, ctx.foreign);
  if (why) return refuse('reserved', `dnsDomain ${domain} is not served: ${why}`);
  if (ctx.allowed && domain !== `${s.space}.${DEFAULT_DNS_SUFFIX}` && !allowedSuffixOf(domain, ctx.allowed)) {
    return refuse('not-allowed', `dnsDomain ${domain} is not under a suffix the platform admin allows`);
  }
  if (overlaps(domain, LOCALSPACE_ZONE)) {
    return refuse('domain-taken', `dnsDomain ${domain} overlaps ${LOCALSPACE_ZONE}`, LOCALSPACE_ZONE);
  }
  for (const [other, space] of ctx.domains) {
    if (overlaps(domain, other)) {
      return refuse(
        'domain-taken',
        `dnsDomain ${domain} overlaps ${other} of the older Space ${space}`,
        space,
      );
    }
  }
  ctx.domains.set(domain, s.space);
}

function admitApp(ctx: Context, s: DnsSpace, app: DnsApp): AdmittedApp {
  const key = `${app.namespace}/${app.name}`;
  const claims: Claim[] = [];
  for (const name of [...new Set(app.names.map(normalizeName))].sort(compareStrings)) {
    const verdict = judgeName(ctx, s, app, name);
    if ('kind' in verdict) {
      ctx.taken.set(takenKey(s, name, verdict.kind), key);
      claims.push({ name, kind: verdict.kind });
    } else {
      ctx.conflicts.push({
        ...verdict,
        name,
        space: s.space,
        app: key,
        message: `App ${key}: ${name} is not served: ${verdict.message}`,
        why: verdict.message,
      });
    }
  }
  const ip = app.clusterIP.trim();
  const serving = app.ready && isIP(ip) !== 0;
  return { key, space: s.space, app: { ...app, clusterIP: ip }, claims, serving };
}

type Verdict = { kind: ClaimKind } | Pick<DnsConflict, 'reason' | 'heldBy' | 'message'>;

function judgeName(ctx: Context, s: DnsSpace, app: DnsApp, name: string): Verdict {
  if (!isValidName(name))
    return { reason: 'invalid-name', message: 'not a lower-case DNS name of two labels or more' };
  const why = reservedBecause(name, ctx.reserved, ctx.foreign);
  if (why) return { reason: 'reserved', message: why };
  const kind = classify(ctx, s, app, name);
  if (typeof kind !== 'string') return kind;
  if (kind === 'custom' && ctx.allowed && !allowedSuffixOf(name, ctx.allowed)) {
    return {
      reason: 'not-allowed',
      message: `it is neither under the Space's domain nor under a suffix the platform admin allows (${ctx.allowed.join(', ') || 'none'})`,
    };
  }
  const holder = ctx.taken.get(takenKey(s, name, kind));
  if (holder) return { reason: 'name-taken', heldBy: holder, message: `the older App ${holder} has it` };
  return { kind };
}

function classify(
  ctx: Context,
  s: DnsSpace,
  app: DnsApp,
  name: string,
): ClaimKind | Exclude<Verdict, { kind: ClaimKind }> {
  if (inZone(name, LOCALSPACE_ZONE)) {
    const own = `${app.name}.${LOCALSPACE_ZONE}`;
    if (inZone(name, own)) return 'discovery';
    return {
      reason: 'foreign-domain',
      message: `an app may only use ${own} and names below it in ${LOCALSPACE_ZONE}`,
    };
  }
  for (const [domain, space] of ctx.domains) {
    if (inZone(name, domain)) {
      if (space !== s.space) {
        return {
          reason: 'foreign-domain',
          heldBy: space,
          message: `it is in ${domain}, the domain of Space ${space}`,
        };
      }
      const own = `${app.name}.${domain}`;
      if (inZone(name, own)) return 'default';
      return {
        reason: 'foreign-domain',
        message: `in ${domain} an app may only use ${own} and names below it`,
      };
    }
    if (inZone(domain, name)) {
      return {
        reason: 'foreign-domain',
        heldBy: space,
        message: `it is above ${domain}, the domain of Space ${space}`,
      };
    }
  }
  const ownDomain = normalizeName(s.dnsDomain);
  if (inZone(name, ownDomain)) {
    return {
      reason: 'domain-taken',
      message: `the dnsDomain ${ownDomain} of Space ${s.space} is not served`,
    };
  }
  if (inZone(LOCALSPACE_ZONE, name))
    return { reason: 'foreign-domain', message: `it is above ${LOCALSPACE_ZONE}` };
  return 'custom';
}
