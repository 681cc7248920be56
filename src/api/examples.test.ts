// The files in examples/ fit the schemas and pass the model's validation.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { platformSettings, validateApp, validatePeering, validateSpace } from '../model/index.ts';
import { parseApp, parsePeering, parseSpace } from './parse.ts';
import type { App } from './v1alpha1/app.ts';
import type { Peering } from './v1alpha1/peering.ts';
import type { Space } from './v1alpha1/space.ts';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');
const docs = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as { kind: string }),
  );

function parsed<T>(r: { ok: true; value: T } | { ok: false; errors: unknown }): T {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.value;
}

const spaces: Space[] = docs.filter((d) => d.kind === 'Space').map((d) => parsed(parseSpace(d)));
const apps: App[] = docs.filter((d) => d.kind === 'App').map((d) => parsed(parseApp(d)));
const peerings: Peering[] = docs.filter((d) => d.kind === 'Peering').map((d) => parsed(parsePeering(d)));

describe('examples/', () => {
  it('holds Space acme, Apps billing (internal) and www (external), Peering office', () => {
    expect(spaces.map((s) => [s.metadata.name, s.spec.cidr, s.spec.dnsDomain])).toEqual([
      ['acme', '10.20.0.0/16', 'acme.internal'],
    ]);
    expect(apps.map((a) => [a.metadata.namespace, a.metadata.name, a.spec.internalRouting])).toEqual([
      ['acme', 'billing', true],
      ['acme', 'www', false],
    ]);
    expect(apps[0]?.spec.domains).toEqual(['billing.acme.example']);
    expect(peerings.map((p) => [p.metadata.namespace, p.metadata.name, p.spec.type, p.spec.cidrs])).toEqual([
      ['acme', 'office', 'vpc', ['192.168.50.0/24']],
    ]);
  });

  it('passes validation', () => {
    const space = spaces[0];
    // The examples' names need the suffixes their comment asks the platform admin to allow.
    const settings = platformSettings({ allowedDnsSuffixes: ['acme.internal', 'acme.example'] });
    expect(validateSpace(space!, undefined, settings)).toEqual([]);
    for (const app of apps) expect(validateApp(app, space, undefined, settings)).toEqual([]);
    for (const p of peerings) expect(validatePeering(p, space, peerings)).toEqual([]);
  });
});
