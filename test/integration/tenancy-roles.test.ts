// The tenant roles of deploy/tenancy.yaml (docs/TENANCY.md) against the real apiserver's RBAC:
// each role is bound to a ServiceAccount the way a platform admin would, and every verdict below
// is the apiserver's own, first through `kubectl auth can-i --as=<account>` and then by acting
// with the account's own token (a TokenRequest kubeconfig). No operator runs here: RBAC alone
// decides, so a request RBAC allows reaches the CRD's schema (and is created), one it refuses is
// Forbidden before anything else looks at it.
//
//   developer  `edit` in Space namespace TEAM (aggregation adds privatespaces-developer)
//   peerer     `edit` plus privatespaces-peering-editor in TEAM (a Space admin's explicit grant)
//   owner      privatespaces-space-admin by a ClusterRoleBinding (the team's Space admin)
//   viewer     `view` in TEAM (aggregation adds privatespaces-view)
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../tools/harness/binaries.ts';
import { serviceAccountKubeconfig, type KubectlResult } from '../../tools/harness/kubectl.ts';
import { testKubeconfig } from '../support/cluster.ts';
import { kubectl, waitFor, expectKubectl } from '../support/kube.ts';

const kubeconfig = testKubeconfig();
const id = Date.now().toString(36);
const TEAM = `team-${id}`; // a Space's namespace
const OTHER = `other-${id}`; // a namespace where nobody here holds a role
const accounts = ['developer', 'peerer', 'owner', 'viewer'] as const;
type Account = (typeof accounts)[number];
const kubeconfigs = new Map<Account, string>();

const admin = (args: string[], input?: string): Promise<KubectlResult> => kubectl(kubeconfig, args, input);
const { ok } = expectKubectl(admin);
const as = (who: Account, args: string[], input?: string): Promise<KubectlResult> =>
  kubectl(kubeconfigs.get(who) ?? '', args, input);

/** `kubectl auth can-i` as the account, asked by the admin (impersonation). */
async function canI(who: Account, verb: string, resource: string, ns = TEAM): Promise<boolean> {
  // `kind/status` would be read as an object named "status": a subresource needs its own flag.
  const [kind = '', sub] = resource.endsWith('/status') ? [resource.slice(0, -7), 'status'] : [resource];
  const args = ['auth', 'can-i', verb, kind, `--as=system:serviceaccount:${TEAM}:${who}`];
  if (sub) args.push(`--subresource=${sub}`);
  const r = await admin(ns === '' ? args : [...args, '-n', ns]);
  return r.stdout.trim() === 'yes';
}

const appYaml = (name: string, ns = TEAM): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: App\nmetadata: { name: ${name}, namespace: ${ns} }\nspec: { internalRouting: true, port: 5000 }\n`;
const peeringYaml = (name: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Peering\nmetadata: { name: ${name}, namespace: ${TEAM} }\nspec: { type: vpc, cidrs: [192.168.90.0/24] }\n`;
const spaceYaml = (name: string): string =>
  `apiVersion: privatespaces.dev/v1alpha1\nkind: Space\nmetadata: { name: ${name} }\nspec: { cidr: 10.77.0.0/16, region: us }\n`;

/** The verdict of a request made with the account's own token: 'ok' or 'forbidden' (else throws). */
async function verdict(who: Account, args: string[], input?: string): Promise<'ok' | 'forbidden'> {
  const r = await as(who, args, input);
  if (r.code === 0) return 'ok';
  if (/forbidden/i.test(r.stderr)) return 'forbidden';
  throw new Error(`kubectl ${args.join(' ')} as ${who} failed otherwise: ${r.stderr}`);
}

beforeAll(async () => {
  await ok(['apply', '-f', path.join(repoRoot, 'deploy/tenancy.yaml')]);
  await ok(['create', 'namespace', TEAM]);
  await ok(['create', 'namespace', OTHER]);
  for (const who of accounts) await ok(['create', 'serviceaccount', who, '-n', TEAM]);
  const sa = (who: Account): string => `--serviceaccount=${TEAM}:${who}`;
  await ok(['create', 'rolebinding', 'developer-edit', '--clusterrole=edit', sa('developer'), '-n', TEAM]);
  await ok(['create', 'rolebinding', 'peerer-edit', '--clusterrole=edit', sa('peerer'), '-n', TEAM]);
  await ok([
    'create',
    'rolebinding',
    'peerer-peerings',
    '--clusterrole=privatespaces-peering-editor',
    sa('peerer'),
    '-n',
    TEAM,
  ]);
  await ok([
    'create',
    'clusterrolebinding',
    `owner-${id}`,
    '--clusterrole=privatespaces-space-admin',
    sa('owner'),
  ]);
  await ok(['create', 'rolebinding', 'viewer-view', '--clusterrole=view', sa('viewer'), '-n', TEAM]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'spaces-roles-'));
  for (const who of accounts) {
    const file = path.join(dir, `${who}.kubeconfig`);
    kubeconfigs.set(who, await serviceAccountKubeconfig(kubeconfig, { namespace: TEAM, name: who }, file));
  }
  // kube-controller-manager's clusterrole-aggregation controller folds our rules into edit and view.
  await waitFor(
    'edit and view aggregated',
    async () =>
      (await canI('developer', 'create', 'apps.privatespaces.dev')) &&
      (await canI('viewer', 'list', 'apps.privatespaces.dev')),
    30_000,
  );
});

afterAll(async () => {
  await admin(['delete', 'clusterrolebinding', `owner-${id}`, '--ignore-not-found']);
  await admin(['delete', 'spaces.privatespaces.dev', `owned-${id}`, '--ignore-not-found', '--wait=false']);
  await admin(['delete', 'namespace', TEAM, OTHER, '--ignore-not-found', '--wait=false']);
});

describe('the built-in roles carry the aggregated rules', () => {
  it('edit and admin list privatespaces-developer; view lists privatespaces-view', async () => {
    const rules = async (role: string): Promise<string> =>
      ok(['get', 'clusterrole', role, '-o', 'jsonpath={.rules[?(@.apiGroups[0]=="privatespaces.dev")]}']);
    for (const role of ['edit', 'admin']) {
      const text = await waitFor(`role ${role} aggregating the apps rules`, async () => {
        const t = await rules(role);
        return t.includes('"apps"') && t.includes('deletecollection') ? t : undefined;
      });
      expect(text).toContain('"create"');
    }
    const view = await rules('view');
    expect(view).toContain('"apps"');
    expect(view).not.toMatch(/"create"|"update"|"patch"|"delete"/);
  });
});

describe('developer: edit in a Space namespace', () => {
  it.each([
    ['create', 'apps.privatespaces.dev', true],
    ['update', 'apps.privatespaces.dev', true],
    ['delete', 'apps.privatespaces.dev', true],
    ['list', 'peerings.privatespaces.dev', true],
    ['create', 'peerings.privatespaces.dev', false],
    ['patch', 'peerings.privatespaces.dev', false],
    ['patch', 'apps.privatespaces.dev/status', false],
    ['update', 'peerings.privatespaces.dev/status', false],
  ])('auth can-i %s %s → %s', async (verb, resource, want) => {
    expect(await canI('developer', verb, resource)).toBe(want);
  });

  it('auth can-i: no Space writes, no namespace writes, nothing in another namespace', async () => {
    expect(await canI('developer', 'create', 'spaces.privatespaces.dev', '')).toBe(false);
    expect(await canI('developer', 'delete', 'spaces.privatespaces.dev', '')).toBe(false);
    expect(await canI('developer', 'patch', `namespace/${TEAM}`, '')).toBe(false);
    expect(await canI('developer', 'update', `namespace/${TEAM}`, '')).toBe(false);
    expect(await canI('developer', 'create', 'apps.privatespaces.dev', OTHER)).toBe(false);
    expect(await canI('developer', 'create', 'networkpolicies', OTHER)).toBe(false);
  });

  it('with its own token: creates, patches and deletes an App; everything else above is Forbidden', async () => {
    expect(await verdict('developer', ['apply', '-f', '-'], appYaml('api'))).toBe('ok');
    expect(
      await verdict('developer', [
        'patch',
        'apps.privatespaces.dev',
        'api',
        '-n',
        TEAM,
        '--type=merge',
        '-p',
        '{"spec":{"port":5001}}',
      ]),
    ).toBe('ok');
    const statusPatch = [
      'patch',
      'apps.privatespaces.dev',
      'api',
      '-n',
      TEAM,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"exposed":false}}',
    ];
    expect(await verdict('developer', statusPatch)).toBe('forbidden');
    expect(await verdict('developer', ['apply', '-f', '-'], spaceYaml(`dev-${id}`))).toBe('forbidden');
    expect(await verdict('developer', ['apply', '-f', '-'], peeringYaml('office'))).toBe('forbidden');
    expect(
      await verdict('developer', [
        'label',
        'namespace',
        TEAM,
        'pod-security.kubernetes.io/enforce=privileged',
      ]),
    ).toBe('forbidden');
    expect(await verdict('developer', ['label', 'namespace', TEAM, `privatespaces.dev/space=${id}`])).toBe(
      'forbidden',
    );
    expect(await verdict('developer', ['apply', '-f', '-'], appYaml('api', OTHER))).toBe('forbidden');
    expect(await verdict('developer', ['get', 'peerings.privatespaces.dev', '-n', TEAM])).toBe('ok');
    expect(await verdict('developer', ['delete', 'apps.privatespaces.dev', 'api', '-n', TEAM])).toBe('ok');
  });
});

describe("peerer: edit plus a Space admin's explicit Peering grant", () => {
  it('creates and deletes a Peering in its namespace, never its status nor elsewhere', async () => {
    expect(await canI('peerer', 'create', 'peerings.privatespaces.dev')).toBe(true);
    expect(await canI('peerer', 'patch', 'peerings.privatespaces.dev/status')).toBe(false);
    expect(await canI('peerer', 'create', 'peerings.privatespaces.dev', OTHER)).toBe(false);
    expect(await verdict('peerer', ['apply', '-f', '-'], peeringYaml('office'))).toBe('ok');
    expect(await verdict('peerer', ['delete', 'peerings.privatespaces.dev', 'office', '-n', TEAM])).toBe(
      'ok',
    );
  });
});

describe('owner: privatespaces-space-admin', () => {
  it('creates, updates and deletes Spaces and Peerings; reads Apps; writes no status and no App', async () => {
    expect(await canI('owner', 'create', 'spaces.privatespaces.dev', '')).toBe(true);
    expect(await canI('owner', 'create', 'peerings.privatespaces.dev', OTHER)).toBe(true);
    expect(await canI('owner', 'list', 'apps.privatespaces.dev', OTHER)).toBe(true);
    expect(await canI('owner', 'create', 'apps.privatespaces.dev')).toBe(false);
    expect(await canI('owner', 'patch', 'spaces.privatespaces.dev/status', '')).toBe(false);
    expect(await canI('owner', 'patch', 'peerings.privatespaces.dev/status')).toBe(false);
    expect(await canI('owner', 'create', 'pods')).toBe(false);
    expect(await canI('owner', 'patch', `namespace/${TEAM}`, '')).toBe(false);
    expect(await verdict('owner', ['apply', '-f', '-'], spaceYaml(`owned-${id}`))).toBe('ok');
    expect(await verdict('owner', ['apply', '-f', '-'], peeringYaml('vpn'))).toBe('ok');
    expect(await verdict('owner', ['apply', '-f', '-'], appYaml('web'))).toBe('forbidden');
    expect(
      await verdict('owner', ['delete', 'spaces.privatespaces.dev', `owned-${id}`, '--wait=false']),
    ).toBe('ok');
  });
});

describe('viewer: view in a Space namespace', () => {
  it('reads Apps and Peerings, writes nothing', async () => {
    expect(await canI('viewer', 'get', 'apps.privatespaces.dev')).toBe(true);
    expect(await canI('viewer', 'get', 'peerings.privatespaces.dev')).toBe(true);
    expect(await canI('viewer', 'create', 'apps.privatespaces.dev')).toBe(false);
    expect(await canI('viewer', 'delete', 'peerings.privatespaces.dev')).toBe(false);
    expect(await verdict('viewer', ['get', 'apps.privatespaces.dev', '-n', TEAM])).toBe('ok');
    expect(await verdict('viewer', ['apply', '-f', '-'], appYaml('nope'))).toBe('forbidden');
  });
});
