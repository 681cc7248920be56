// Which informer updates the operator turns into App reconciles (src/operator.ts `wire`).
import { describe, expect, it } from 'vitest';
import { appChanged, peeringChanged } from './operator.ts';

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
