// Which informer updates the App controller turns into reconciles (watches.ts).
import { describe, expect, it } from 'vitest';
import { appChanged, peeringChanged, podChanged } from './watches.ts';

const app = (generation: number, observed?: number, deletionTimestamp?: string) => ({
  metadata: { generation, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
  status: observed === undefined ? undefined : { observedGeneration: observed },
});

describe('appChanged', () => {
  it('ignores our own status writes (same generation, status for it)', () => {
    expect(appChanged(app(3, 2), app(3, 3))).toBe(false);
    expect(appChanged(app(3, 3), app(3, 3))).toBe(false);
  });

  it('reacts to a new generation, a deletion, and a status that no longer speaks for the generation', () => {
    expect(appChanged(app(3, 3), app(4, 3))).toBe(true);
    expect(appChanged(app(3, 3), app(3, 3, '2026-01-01T00:00:00Z'))).toBe(true);
    expect(appChanged(app(3, 3), app(3))).toBe(true);
    expect(appChanged(app(3, 3), app(3, 1))).toBe(true);
  });
});

const peering = (phase?: string, cidrs = ['192.168.1.0/24']) => ({
  metadata: { generation: 1 },
  spec: { cidrs },
  status: phase ? { phase } : undefined,
});

describe('peeringChanged', () => {
  it('reacts to what Apps read: the phase and the CIDRs', () => {
    expect(peeringChanged(peering(), peering('active'))).toBe(true);
    expect(peeringChanged(peering('active'), peering('failed'))).toBe(true);
    expect(peeringChanged(peering('active'), peering('active', ['192.168.2.0/24']))).toBe(true);
  });

  it('ignores everything else (routes, messages, conditions)', () => {
    expect(peeringChanged(peering('active'), peering('active'))).toBe(false);
  });
});

const pod = (over: {
  labels?: Record<string, string>;
  hostNetwork?: boolean;
  ready?: string;
  ip?: string;
  phase?: string;
}) => ({
  metadata: { labels: over.labels ?? { app: 'a' } },
  spec: { containers: [{ name: 'c' }], ...(over.hostNetwork ? { hostNetwork: true } : {}) },
  status: {
    phase: over.phase ?? 'Running',
    ...(over.ip ? { podIP: over.ip } : {}),
    conditions: [{ type: 'Ready', status: over.ready ?? 'True' }],
  },
});

describe('podChanged', () => {
  it('reacts to labels, host networking, phase and readiness', () => {
    expect(podChanged(pod({}), pod({ labels: { app: 'a', tier: 'public' } }))).toBe(true);
    expect(podChanged(pod({}), pod({ hostNetwork: true }))).toBe(true);
    expect(podChanged(pod({}), pod({ ready: 'False' }))).toBe(true);
    expect(podChanged(pod({}), pod({ phase: 'Succeeded' }))).toBe(true);
  });

  it('ignores an IP assignment and other status churn', () => {
    expect(podChanged(pod({}), pod({ ip: '10.0.0.9' }))).toBe(false);
  });
});
