// Pure: what others keep in the shared ConfigMap (on AKS, kube-system/coredns-custom is the
// cluster admin's too). Their bytes come out of our budget, and the zones of their `*.server`
// keys must never be declared again by us: CoreDNS refuses a Corefile that serves one zone
// twice on a port, and would then keep its old configuration (or, on a restart, not start).
import { KEY_PREFIX } from './render.ts';

export interface Foreign {
  /** Bytes of the keys (and values) that are not ours. */
  bytes: number;
  /** Zones served on the default port by the `*.server` keys that are not ours. */
  zones: string[];
}

export function foreignOf(data: Record<string, string> | undefined): Foreign {
  let bytes = 0;
  const zones = new Set<string>();
  for (const [key, value] of Object.entries(data ?? {})) {
    if (key.startsWith(KEY_PREFIX)) continue; // ours: privatespaces.server, .db, .<space>.hosts
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (key.endsWith('.server')) for (const z of serverBlockZones(value)) zones.add(z);
  }
  return { bytes, zones: [...zones].sort() };
}

/**
 * The zones of a Caddyfile's server blocks (the words before each top-level `{`), without
 * scheme, trailing dot or port; keys on another port than 53 are left out, snippets `(name)`
 * and `import` lines are skipped. Good enough for the Corefiles people write by hand.
 */
export function serverBlockZones(text: string): string[] {
  const zones: string[] = [];
  const state = { depth: 0, words: [] as string[] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    for (const token of line.split(/(\{|\})|\s+|,/)) {
      if (token) zones.push(...step(state, token));
    }
    if (state.depth === 0 && state.words[0] === 'import') state.words = [];
  }
  return zones;
}

// One token of the Caddyfile; returns the zones of a server block that opens here.
function step(state: { depth: number; words: string[] }, token: string): string[] {
  if (token === '{') {
    const keys = state.depth === 0 ? state.words.flatMap(zoneOfKey) : [];
    state.depth++;
    state.words = [];
    return keys;
  }
  if (token === '}') state.depth = Math.max(0, state.depth - 1);
  else if (state.depth === 0) state.words.push(token);
  return [];
}

function zoneOfKey(key: string): string[] {
  if (key.startsWith('(')) return [];
  const m = /^(?:[a-z]+:\/\/)?([^:/]*)(?::(\d+))?$/i.exec(key);
  if (!m) return [];
  const port = m[2];
  if (port !== undefined && port !== '53') return [];
  const zone = (m[1] ?? '').toLowerCase().replace(/\.$/, '');
  return zone === '' ? ['.'] : [zone];
}
