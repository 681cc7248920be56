import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { appChildren, spaceChildren } from '../model/index.ts';
import { makeApp, makePeering, makeSpace } from '../model/fixtures.ts';
import { CliError, EXIT } from './errors.ts';
import {
  collect,
  collectChecked,
  comparable,
  formatRender,
  parseDocuments,
  readManifests,
  refusals,
  render,
  type SourcedDoc,
} from './render.ts';
import { expectGolden } from './testdata/golden.ts';

const manifests = path.join(import.meta.dirname, 'testdata', 'manifests');
const docs = (...objects: unknown[]): SourcedDoc[] => objects.map((doc, i) => ({ source: `f#${i}`, doc }));

describe('parseDocuments', () => {
  it('reads every document, flattens a List and skips empty ones', () => {
    const text = '---\na: 1\n---\n# nothing\n---\nkind: List\nitems: [{b: 2}, {c: 3}]\n';
    expect(parseDocuments(text, 'x.yaml').map((d) => d.doc)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('a syntax error names the file (exit 1)', () => {
    expect(() => parseDocuments('a: [1,\n', 'bad.yaml')).toThrow(/bad.yaml/);
  });
});

describe('readManifests', () => {
  it('a folder: its .yaml/.yml/.json files in name order, not below without -R', async () => {
    const read = await readManifests([manifests], false);
    const kinds = read.map((d) => `${(d.doc as { kind: string }).kind} ${path.basename(d.source)}`);
    expect(kinds).toEqual([
      'App apps.json',
      'App apps.json',
      'Namespace space.yaml',
      'Space space.yaml#2',
      'Peering space.yaml#3',
      'Peering space.yaml#4',
    ]);
    const all = await readManifests([manifests], true);
    expect(all.map((d) => path.basename(d.source))).toContain('worker.yaml');
  });

  it('stdin with -f -', async () => {
    const read = await readManifests(['-'], false, () => Promise.resolve('a: 1\n'));
    expect(read).toEqual([{ source: '<stdin>', doc: { a: 1 } }]);
  });

  it('a missing path is an error, no -f a usage error', async () => {
    await expect(readManifests(['/nonexistent/x.yaml'], false)).rejects.toMatchObject({
      exitCode: EXIT.error,
    });
    await expect(readManifests([], false)).rejects.toMatchObject({ exitCode: EXIT.usage });
  });
});

describe('collect and refusals', () => {
  const space = makeSpace('acme', {}, null);

  it('fills the CRD defaults and leaves other kinds alone', () => {
    const c = collect(
      docs(
        { apiVersion: 'privatespaces.dev/v1alpha1', kind: 'Space', metadata: { name: 'acme' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      ),
    );
    expect(c.spaces[0]?.value.spec).toEqual({
      cidr: '10.0.0.0/16',
      region: 'us',
      generation: 'cedar',
      trustedIPRanges: ['0.0.0.0/0'],
    });
    expect(c.ignored).toEqual(['f#1: v1 ConfigMap x']);
  });

  it.each<{ name: string; objects: unknown[]; match: RegExp }>([
    {
      name: 'an App whose Space is not in the files',
      objects: [makeApp('billing')],
      match: /App acme\/billing: its Space .* is not in the files/,
    },
    {
      name: 'an App with no namespace',
      objects: [space, { ...makeApp(), metadata: { name: 'x' } }],
      match: /metadata.namespace: missing/,
    },
    {
      name: 'internal routing in a fir Space',
      objects: [
        makeSpace('acme', { generation: 'fir' }, null),
        makeApp('billing', { internalRouting: true }),
      ],
      match: /spec.internalRouting: Internal Routing is not available in fir spaces/,
    },
    {
      name: 'a schema error',
      objects: [space, makeApp('billing', { port: 'x' as unknown as number })],
      match: /App acme\/billing: spec.port/,
    },
    { name: 'a Space twice', objects: [space, space], match: /defined twice/ },
    {
      name: 'a Space that is not a /16',
      objects: [makeSpace('acme', { cidr: '10.0.0.0/8' }, null)],
      match: /spec.cidr: .*a \/16/,
    },
  ])('$name', ({ objects, match }) => {
    const c = collect(docs(...objects));
    expect(refusals(c).join('\n')).toMatch(match);
    expect(() => collectChecked(docs(...objects))).toThrow(CliError);
    try {
      collectChecked(docs(...objects));
    } catch (err) {
      expect((err as CliError).exitCode).toBe(EXIT.refused);
    }
  });
});

describe('render', () => {
  it('gives exactly what the model gives the reconciler, active peerings only', () => {
    const space = makeSpace('acme', {}, null);
    const app = {
      ...makeApp('billing', { internalRouting: true }),
      metadata: { name: 'billing', namespace: 'acme' },
    };
    const office = makePeering({ name: 'office' });
    const overlapping = makePeering({ name: 'zzz', spec: { type: 'vpc', cidrs: ['192.168.50.128/25'] } });
    const r = render(collect(docs(space, app, office, overlapping)));
    const active = { ...office, status: { phase: 'active' as const } };
    expect(r.objects.map((o) => o.object)).toEqual([
      ...spaceChildren(space),
      ...appChildren(app, space, [active]),
    ]);
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toContain('Peering acme/zzz');
  });

  it('no owner references without uids; with the live uids, the same ones the operator sets', () => {
    const space = makeSpace('acme', {}, null);
    const app = { ...makeApp('billing'), metadata: { name: 'billing', namespace: 'acme' } };
    const c = collect(docs(space, app));
    expect(render(c).objects.every((o) => o.object.metadata.ownerReferences === undefined)).toBe(true);
    const uids = new Map([
      ['Space acme', 'u-space'],
      ['App acme/billing', 'u-app'],
    ]);
    const owned = render(c, uids).objects.map((o) => o.object);
    const withUid = appChildren({ ...app, metadata: { ...app.metadata, uid: 'u-app' } }, space, []);
    expect(owned.slice(2)).toEqual(withUid);
    expect(owned[0]?.metadata.ownerReferences?.[0]?.uid).toBe('u-space');
  });

  it('the test manifests, as YAML for review', async () => {
    const r = render(collectChecked(await readManifests([manifests], false)));
    const text = formatRender(r);
    expectGolden('render.yaml', text.replaceAll(manifests, '<manifests>'));
    const parsed = text
      .split(/^---$/m)
      .map((d) => parse(d) as { kind: string })
      .map((d) => d.kind);
    expect(parsed).toEqual([
      'Namespace',
      'NetworkPolicy',
      'Service',
      'NetworkPolicy',
      'Service',
      'NetworkPolicy',
    ]);
  });

  it('-o json: a v1 List of the objects', async () => {
    const r = render(collectChecked(await readManifests([manifests], false)));
    const list = JSON.parse(formatRender(r, 'json')) as { kind: string; items: unknown[] };
    expect(list.kind).toBe('List');
    expect(list.items).toEqual(r.objects.map((o) => o.object));
  });
});

describe('comparable', () => {
  it('drops what every write changes', () => {
    const live = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'a',
        uid: 'u',
        resourceVersion: '5',
        generation: 2,
        creationTimestamp: 't',
        managedFields: [],
        labels: { x: 'y' },
      },
      spec: { type: 'ClusterIP' },
    };
    expect(parse(comparable(live))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a', labels: { x: 'y' } },
      spec: { type: 'ClusterIP' },
    });
    expect(comparable(undefined)).toBe('');
  });
});
