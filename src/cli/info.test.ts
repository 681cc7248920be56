import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { App } from '../api/v1alpha1/index.ts';
import { appDnsNames, spaceNetworkStatus } from '../model/index.ts';
import { makeApp, makePeering, makeSpace } from '../model/fixtures.ts';
import { formatInfo, infoView, readyText, type InfoView } from './info.ts';
import { expectGolden } from './testdata/golden.ts';

const T = '2026-01-01T00:00:00Z';
const space = {
  ...makeSpace('acme', {
    dnsDomain: 'acme.internal',
    trustedIPRanges: ['203.0.113.0/24', '198.51.100.0/24'],
  }),
  status: {
    state: 'allocated' as const,
    conditions: [
      { type: 'Ready', status: 'True' as const, reason: 'Reconciled', message: '', lastTransitionTime: T },
    ],
  },
};
const peerings = [
  {
    ...makePeering({ name: 'office', phase: 'active' }),
    status: { phase: 'active' as const, message: '192.168.50.0/24 admitted' },
  },
  makePeering({ name: 'dc', spec: { type: 'vpn', cidrs: ['172.20.0.0/16'] } }),
];
const billing: App = {
  ...makeApp('billing', {
    internalRouting: true,
    domains: ['billing.acme.example'],
    processes: [{ name: 'web' }, { name: 'worker' }],
  }),
  status: {
    clusterIP: '10.96.0.20',
    readyEndpoints: 2,
    exposed: false,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Reconciled', message: '', lastTransitionTime: T }],
  },
};
const www: App = {
  ...makeApp('www', { port: 8080 }),
  status: {
    conditions: [
      { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'x', lastTransitionTime: T },
    ],
  },
};
const pod = (process: string, ready: boolean, phase = 'Running') => ({
  metadata: { labels: { 'privatespaces.dev/app': 'billing', 'privatespaces.dev/process': process } },
  status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const pods = [pod('web', true), pod('web', true), pod('worker', false), pod('worker', true, 'Succeeded')];
const view = infoView(space, peerings, [www, billing], pods);

describe('infoView', () => {
  it("takes the network facts from the model, the same as the operator's status", () => {
    const net = spaceNetworkStatus(space);
    expect(view.space.dynoSubnets).toEqual(net.dynoSubnets);
    expect(view.space.dynoSubnets).toEqual([
      '10.20.0.0/20',
      '10.20.16.0/20',
      '10.20.128.0/20',
      '10.20.144.0/20',
    ]);
    expect(view.space.peerRoutes).toEqual(['10.20.0.0/16']);
    expect(view.space.unavailableCIDRs).toEqual(net.unavailableCIDRs);
    expect(view.space.trustedIPRanges).toEqual(['198.51.100.0/24', '203.0.113.0/24']);
  });

  it('lists peerings with their state (pending until the operator reports) and apps by name', () => {
    expect(view.peerings.map((p) => [p.name, p.state])).toEqual([
      ['dc', 'pending'],
      ['office', 'active'],
    ]);
    expect(view.apps.map((a) => [a.name, a.routing, a.ready])).toEqual([
      ['billing', 'internal', 'True'],
      ['www', 'external', 'False (InvalidSpec)'],
    ]);
    expect(view.apps[0]?.names).toEqual(appDnsNames(billing, space));
  });

  it("counts each process's ready/live pods and names its discovery names", () => {
    expect(view.apps[0]?.processes).toEqual(['web=2/2', 'worker=0/1']);
    expect(view.apps[0]?.discovery).toEqual(['web.billing.app.localspace', 'worker.billing.app.localspace']);
    expect(view.apps[1]?.processes).toEqual(['web=0/0']);
  });

  it('prints status.processes once the operator has written it (not the live count)', () => {
    const reported: App = {
      ...billing,
      status: {
        ...billing.status,
        processes: [
          { name: 'web', ready: 3, total: 4, discovery: 'web.billing.app.localspace' },
          { name: 'worker', ready: 1, total: 1, discovery: 'worker.billing.app.localspace' },
        ],
      },
    };
    expect(infoView(space, [], [reported], pods).apps[0]?.processes).toEqual(['web=3/4', 'worker=1/1']);
  });

  it('readyText', () => {
    expect(readyText(undefined)).toBe('<unknown>');
    expect(readyText([{ type: 'Ready', status: 'Unknown' }])).toBe('Unknown');
  });
});

describe('formatInfo', () => {
  it('text', () => expectGolden('info.txt', formatInfo(view)));
  it('-o wide', () => expectGolden('info-wide.txt', formatInfo(view, 'wide')));
  it('-o yaml and -o json print the view', () => {
    expect(parse(formatInfo(view, 'yaml')) as InfoView).toEqual(view);
    expect(JSON.parse(formatInfo(view, 'json')) as InfoView).toEqual(view);
  });
  it('a Space with nothing in it, not reconciled yet, closed to the outside', () => {
    const bare = makeSpace('empty', { trustedIPRanges: [] });
    const text = formatInfo(infoView(bare, [], []));
    expect(text).toContain('State:              <unknown>');
    expect(text).toContain('Trusted IP ranges:  <none> (no inbound web traffic from outside the Space)');
    expect(text).toContain('Peerings: <none>');
    expect(text).toContain('Apps: <none>');
  });
});
