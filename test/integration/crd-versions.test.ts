// The path docs/UPGRADING.md gives for a future API version, walked on the real apiserver with
// today's CRDs: a second version (v1alpha2, same schema, conversion None) becomes the storage
// version while v1alpha1 stays served; existing Spaces, Apps and Peerings read under both; the old
// version cannot be dropped while objects may still be stored in it (the apiserver refuses); after
// the storage migration (every object rewritten once, then status.storedVersions trimmed) it can,
// and every object is still there, same uid, same spec.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { kubectl, kubectlOk } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const k = (args: string[], input?: string): Promise<string> => kubectlOk(kubeconfig, args, input);

interface Crd {
  metadata: { name: string };
  spec: { versions: Array<{ name: string; served: boolean; storage: boolean }> };
}
const crds = ['space', 'app', 'peering'].map(
  (f) => parse(readFileSync(path.join(repoRoot, 'crds', `${f}.yaml`), 'utf8')) as Crd,
);

/** The CRDs with the given versions, each a copy of v1alpha1's schema; `storage` names the storage version. */
function withVersions(names: string[], storage: string): string {
  return crds
    .map((c) => {
      const base = c.spec.versions.find((v) => v.name === 'v1alpha1')!;
      const versions = names.map((name) => ({
        ...structuredClone(base),
        name,
        served: true,
        storage: name === storage,
      }));
      return stringify({ ...c, spec: { ...c.spec, versions } });
    })
    .join('---\n');
}

const objects = `apiVersion: v1
kind: Namespace
metadata: { name: mig }
---
apiVersion: privatespaces.dev/v1alpha1
kind: Space
metadata: { name: mig }
spec: { cidr: 10.30.0.0/16, region: us, generation: cedar }
---
apiVersion: privatespaces.dev/v1alpha1
kind: App
metadata: { name: ledger, namespace: mig }
spec: { internalRouting: true, port: 5000 }
---
apiVersion: privatespaces.dev/v1alpha1
kind: Peering
metadata: { name: office, namespace: mig }
spec: { type: vpc, cidrs: [192.168.60.0/24] }
`;

const KINDS = ['spaces.privatespaces.dev', 'apps.privatespaces.dev', 'peerings.privatespaces.dev'];

async function snapshot(
  version: string,
): Promise<Record<string, { uid: string; spec: unknown; apiVersion: string }>> {
  const out: Record<string, { uid: string; spec: unknown; apiVersion: string }> = {};
  for (const kind of KINDS) {
    const [plural, ...group] = kind.split('.');
    const list = JSON.parse(
      await k(['get', `${plural}.${version}.${group.join('.')}`, '-A', '-o', 'json']),
    ) as {
      items: Array<{ apiVersion: string; metadata: { name: string; uid: string }; spec: unknown }>;
    };
    for (const o of list.items)
      out[`${plural}/${o.metadata.name}`] = { uid: o.metadata.uid, spec: o.spec, apiVersion: o.apiVersion };
  }
  return out;
}

const uidsAndSpecs = (s: Awaited<ReturnType<typeof snapshot>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(s).map(([key, v]) => [key, { uid: v.uid, spec: v.spec }]));

describe('a new API version: served beside v1alpha1, storage migrated, v1alpha1 dropped', () => {
  it('keeps every object through the whole path, and refuses to drop v1alpha1 before the migration', async () => {
    await k(['apply', '-f', '-'], objects);
    const v1 = await snapshot('v1alpha1');
    expect(Object.keys(v1).sort()).toEqual(['apps/ledger', 'peerings/office', 'spaces/mig']);

    // 1. v1alpha2 added and made the storage version; v1alpha1 still served.
    await k(
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      withVersions(['v1alpha1', 'v1alpha2'], 'v1alpha2'),
    );
    await k(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    const v2 = await snapshot('v1alpha2');
    expect(uidsAndSpecs(v2)).toEqual(uidsAndSpecs(v1));
    expect(new Set(Object.values(v2).map((o) => o.apiVersion))).toEqual(
      new Set(['privatespaces.dev/v1alpha2']),
    );
    expect(uidsAndSpecs(await snapshot('v1alpha1'))).toEqual(uidsAndSpecs(v1));
    for (const kind of KINDS) {
      const stored = await k(['get', 'crd', kind, '-o', 'jsonpath={.status.storedVersions}']);
      expect(JSON.parse(stored)).toEqual(['v1alpha1', 'v1alpha2']);
    }

    // 2. Dropping v1alpha1 now is refused: objects may still be stored in it.
    const early = await kubectl(
      kubeconfig,
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      withVersions(['v1alpha2'], 'v1alpha2'),
    );
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain('storedVersions');

    // 3. Storage migration: every object rewritten once (stored as v1alpha2), then storedVersions trimmed.
    for (const kind of KINDS) {
      const [plural, ...group] = kind.split('.');
      const json = await k(['get', `${plural}.v1alpha2.${group.join('.')}`, '-A', '-o', 'json']);
      await k(['replace', '-f', '-'], json);
      await k([
        'patch',
        'crd',
        kind,
        '--subresource=status',
        '--type=merge',
        '-p',
        '{"status":{"storedVersions":["v1alpha2"]}}',
      ]);
    }

    // 4. v1alpha1 dropped: every object still there, same uid and spec, under v1alpha2 only.
    await k(
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      withVersions(['v1alpha2'], 'v1alpha2'),
    );
    expect(uidsAndSpecs(await snapshot('v1alpha2'))).toEqual(uidsAndSpecs(v1));
    const gone = await kubectl(kubeconfig, ['get', 'apps.v1alpha1.privatespaces.dev', '-A']);
    expect(gone.code).not.toBe(0);
  });
});
