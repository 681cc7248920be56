import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crds, renderCrdFiles, type CustomResourceDefinition } from './crds.ts';
import { structuralProblems, type OpenAPISchema } from './openapi.ts';

const crdDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../crds');
const all = crds();
const schemaOf = (crd: CustomResourceDefinition): OpenAPISchema =>
  crd.spec.versions[0]!.schema.openAPIV3Schema;

interface Node {
  path: string;
  schema: OpenAPISchema;
}

/** Every schema node with its path: .spec.cidr, .spec.trustedIPRanges[], .spec.selector.matchLabels{} */
function walk(schema: OpenAPISchema, at = ''): Node[] {
  const nodes: Node[] = [{ path: at, schema }];
  const props = (schema['properties'] ?? {}) as Record<string, OpenAPISchema>;
  for (const [name, child] of Object.entries(props)) nodes.push(...walk(child, `${at}.${name}`));
  if (schema['items']) nodes.push(...walk(schema['items'] as OpenAPISchema, `${at}[]`));
  if (typeof schema['additionalProperties'] === 'object') {
    nodes.push(...walk(schema['additionalProperties'] as OpenAPISchema, `${at}{}`));
  }
  return nodes;
}

describe('crds/ is generated', () => {
  it('matches what `npm run gen:crds` writes (run it after changing src/api/v1alpha1)', () => {
    const want = renderCrdFiles();
    const have = readdirSync(crdDir).sort();
    expect(have).toEqual([...want.keys()].sort());
    for (const [name, text] of want) expect(readFileSync(path.join(crdDir, name), 'utf8'), name).toBe(text);
  });
});

describe.each(all.map((crd) => [crd.spec.names.kind, crd] as const))('%s CRD', (kind, crd) => {
  const schema = schemaOf(crd);
  const nodes = walk(schema);

  it('is structural', () => expect(structuralProblems(schema)).toEqual([]));

  it('names, scope, status subresource, printer columns', () => {
    expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.privatespaces.dev`);
    expect(crd.spec.names.categories).toEqual(['privatespaces']);
    expect(crd.spec.scope).toBe(kind === 'Space' ? 'Cluster' : 'Namespaced');
    expect(crd.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
    expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    const columns = crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name);
    const want = {
      Space: ['CIDR', 'Generation', 'Ready', 'Age'],
      App: ['Internal', 'ClusterIP', 'Ready', 'Age'],
    };
    expect(columns).toEqual(want[kind as keyof typeof want] ?? ['Type', 'Phase', 'CIDRs', 'Age']);
  });

  it('describes every field of spec and status', () => {
    const fields = nodes.filter((n) => /^\.(spec|status)(\.[^.[{]+)*$/.test(n.path));
    const bare = fields.filter((n) => typeof n.schema['description'] !== 'string').map((n) => n.path);
    expect(bare).toEqual([]);
  });

  it('bounds every list (CEL cost) and every string a CEL rule reads', () => {
    const lists = nodes.filter((n) => n.schema['type'] === 'array' && n.schema['maxItems'] === undefined);
    expect(lists.map((n) => n.path)).toEqual([]);
    const strings = nodes.filter(
      (n) => n.schema['type'] === 'string' && n.schema['x-kubernetes-validations'] && !n.schema['maxLength'],
    );
    expect(strings.map((n) => n.path)).toEqual([]);
  });

  it('names the field in every CEL message', () => {
    for (const { path: at, schema: s } of nodes) {
      const rules = (s['x-kubernetes-validations'] ?? []) as { message: string; fieldPath?: string }[];
      for (const r of rules) {
        const field = `${at}${r.fieldPath ?? ''}`.replace(/^\./, '').replace(/\[\]$/, '');
        expect(r.message, `${at}: ${r.message}`).toContain(field);
      }
    }
  });

  it('does not require what the apiserver defaults', () => {
    for (const { path: at, schema: s } of nodes) {
      const props = (s['properties'] ?? {}) as Record<string, OpenAPISchema>;
      for (const name of (s['required'] ?? []) as string[]) {
        expect(props[name]?.['default'], `${at}.${name}`).toBeUndefined();
      }
    }
  });
});

describe('specific rules', () => {
  const byKind = new Map(all.map((c) => [c.spec.names.kind, walk(schemaOf(c))]));
  const node = (kind: string, at: string): OpenAPISchema =>
    byKind.get(kind)!.find((n) => n.path === at)?.schema ?? {};
  const rules = (kind: string, at: string): string[] =>
    ((node(kind, at)['x-kubernetes-validations'] ?? []) as { rule: string }[]).map((r) => r.rule);

  it.each([
    ['Space', '.spec.cidr'],
    ['Space', '.spec.region'],
    ['Space', '.spec.generation'],
    ['App', '.spec.internalRouting'],
    ['Peering', '.spec.type'],
  ])('%s %s is immutable', (kind, at) => expect(rules(kind, at)).toContain('self == oldSelf'));

  it.each([
    ['Space', '.spec.cidr', '10.0.0.0/16'],
    ['Space', '.spec.region', 'us'],
    ['Space', '.spec.generation', 'cedar'],
    ['Space', '.spec.trustedIPRanges', ['0.0.0.0/0']],
    ['App', '.spec.internalRouting', false],
    ['App', '.spec.port', 5000],
    ['App', '.spec.acm', false],
  ])('%s %s defaults to %j', (kind, at, value) => expect(node(kind, at)['default']).toEqual(value));

  it('App .spec.dnsDiscovery has no default: unset means on in cedar, and fir refuses an explicit true', () => {
    expect(node('App', '.spec.dnsDiscovery')['default']).toBeUndefined();
    expect(node('App', '.spec.dnsDiscovery')['description']).toMatch(/fir spaces refuse true/);
  });

  it('internalRouting is always present (defaulted) so removing it is a change the rule sees', () => {
    expect(node('App', '.spec')['default']).toEqual({});
    expect(node('App', '.spec.internalRouting')['type']).toBe('boolean');
  });

  it('explains internalRouting', () => {
    expect(node('App', '.spec.internalRouting')['description']).toMatch(
      /Internal Routing.*never be turned on or off/,
    );
  });

  it.each([
    ['Space', '.spec.trustedIPRanges', 20],
    ['Peering', '.spec.cidrs', 10],
  ])('%s %s has at most %d items', (kind, at, max) => expect(node(kind, at)['maxItems']).toBe(max));
});
