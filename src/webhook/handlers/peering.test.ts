import { describe, expect, it } from 'vitest';
import { decide } from '../admission.ts';
import { memLookup, peering, request, space, type World } from '../../../test/support/webhook-fixtures.ts';
import type { Decision } from '../types.ts';
import { buildHandlers } from './index.ts';
import { DEFAULT_SETTINGS } from '../../model/settings.ts';

const world: World = {
  spaces: [space('acme'), space('firry', { generation: 'fir' })],
  peerings: [peering('acme', 'office', ['192.168.0.0/24'], 'active')],
};
const run = (...args: Parameters<typeof request>): Promise<Decision> =>
  decide(request(...args), buildHandlers(memLookup(world)));

function denied(d: Decision): string {
  expect(d.allowed).toBe(false);
  return d.allowed ? '' : d.message;
}

describe('Peering', () => {
  it('allows a peering that overlaps nothing', async () => {
    expect(await run('CREATE', peering('acme', 'dc', ['192.168.10.0/24']))).toEqual({ allowed: true });
  });

  it('denies a CIDR overlapping another peering of the space, naming spec.cidrs[i]', async () => {
    const msg = denied(await run('CREATE', peering('acme', 'dc', ['172.20.0.0/16', '192.168.0.128/25'])));
    expect(msg).toContain(
      'Peering "acme/dc" is invalid: spec.cidrs[1]: 192.168.0.128/25 overlaps 192.168.0.0/24',
    );
    expect(msg).toContain('Peering "office"');
  });

  it('denies a CIDR overlapping the space CIDR', async () => {
    const msg = denied(await run('CREATE', peering('acme', 'dc', ['10.0.5.0/24'])));
    expect(msg).toContain('spec.cidrs[0]: 10.0.5.0/24 overlaps the Space CIDR 10.0.0.0/16');
  });

  it('denies peering a fir space and a namespace without a space', async () => {
    expect(denied(await run('CREATE', peering('firry', 'dc', ['192.168.10.0/24'])))).toContain('fir');
    expect(denied(await run('CREATE', peering('nowhere', 'dc', ['192.168.10.0/24'])))).toContain(
      'metadata.namespace',
    );
  });

  it('does not compare a peering with itself on update', async () => {
    const old = peering('acme', 'office', ['192.168.0.0/24']);
    const next = peering('acme', 'office', ['192.168.0.0/23']);
    expect(await run('UPDATE', next, old)).toEqual({ allowed: true });
  });
});

describe('Peering against the cluster ranges', () => {
  const cluster: World = {
    ...world,
    nodes: [
      {
        metadata: { name: 'n1' },
        spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'] },
        status: { addresses: [{ type: 'InternalIP', address: '172.18.0.2' }] },
      },
    ],
    serviceCIDRs: [{ metadata: { name: 'kubernetes' }, spec: { cidrs: ['10.96.0.0/12'] } }],
  };
  const runIn =
    (w: World, clusterCidrs: string[] = []) =>
    (...args: Parameters<typeof request>): Promise<Decision> =>
      decide(
        request(...args),
        buildHandlers(memLookup(w), { settings: { ...DEFAULT_SETTINGS, clusterCidrs } }),
      );

  it.each([
    ['10.244.0.0/16', "10.244.0.0/16 overlaps the cluster's pod range 10.244.1.0/24 of node n1"],
    [
      '10.96.0.0/16',
      "10.96.0.0/16 overlaps the cluster's Service range 10.96.0.0/12 (ServiceCIDR kubernetes)",
    ],
    ['172.18.0.0/16', '172.18.0.0/16 overlaps the address 172.18.0.2 (InternalIP) of node n1'],
  ])('denies %s', async (cidr, message) => {
    const msg = denied(await runIn(cluster)('CREATE', peering('acme', 'dc', [cidr])));
    expect(msg).toBe(
      `Peering "acme/dc" is invalid: spec.cidrs[0]: ${message}; a peer network must not cover the cluster`,
    );
  });

  it('denies a configured cluster range, and an UPDATE that moves onto the cluster', async () => {
    const msg = denied(
      await runIn(world, ['172.30.0.0/16'])('CREATE', peering('acme', 'dc', ['172.30.1.0/24'])),
    );
    expect(msg).toContain('172.30.1.0/24 overlaps the cluster range 172.30.0.0/16 (--cluster-cidrs)');
    const old = peering('acme', 'dc', ['192.168.10.0/24']);
    const moved = peering('acme', 'dc', ['10.244.1.0/24']);
    expect(denied(await runIn(cluster)('UPDATE', moved, old))).toContain("the cluster's pod range");
  });

  it('allows ranges beside the cluster', async () => {
    expect(await runIn(cluster)('CREATE', peering('acme', 'dc', ['10.245.0.0/16']))).toEqual({
      allowed: true,
    });
  });
});
