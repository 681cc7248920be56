// The generator: reproducible from its seed, and only input the apiserver would accept (the data-plane
// test also applies its worlds with kubectl).
import type { V1LabelSelector, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { canonicalCidr, generateWorld, inCidr, Rng, type World } from './generator.ts';

const worlds: World[] = Array.from({ length: 200 }, (_, i) => generateWorld(new Rng(i)));
const rules = worlds.flatMap((w) => w.policies.flatMap((p) => p.spec?.ingress ?? []));
const peers = rules.flatMap((r) => (r as { from?: V1NetworkPolicyPeer[] }).from ?? []);
const ports = rules.flatMap((r): V1NetworkPolicyPort[] => r.ports ?? []);
const selectors = [
  ...worlds.flatMap((w) => w.policies.map((p) => p.spec?.podSelector)),
  ...peers.flatMap((p) => [p.podSelector, p.namespaceSelector]),
].filter((s): s is V1LabelSelector => s !== undefined);

describe('generateWorld', () => {
  it('gives the same world for the same seed, and another for another', () => {
    expect(generateWorld(new Rng(42))).toEqual(generateWorld(new Rng(42)));
    expect(generateWorld(new Rng(42))).not.toEqual(generateWorld(new Rng(43)));
  });

  it('draws canonical CIDRs with every except strictly inside', () => {
    const blocks = peers.flatMap((p) => (p.ipBlock ? [p.ipBlock] : []));
    expect(blocks.length).toBeGreaterThan(50);
    for (const b of blocks) {
      const [ip = '', prefix = ''] = b.cidr.split('/');
      expect(canonicalCidr(ip, Number(prefix))).toBe(b.cidr);
      for (const e of b.except ?? []) {
        const [eip = '', eprefix = ''] = e.split('/');
        expect(canonicalCidr(eip, Number(eprefix))).toBe(e);
        expect(inCidr(eip, b.cidr) && Number(eprefix) > Number(prefix), `${e} in ${b.cidr}`).toBe(true);
      }
    }
  });

  it('gives In/NotIn values and Exists/DoesNotExist none; a peer is an ipBlock or selectors', () => {
    for (const s of selectors) {
      for (const e of s.matchExpressions ?? []) {
        const needsValues = e.operator === 'In' || e.operator === 'NotIn';
        expect((e.values ?? []).length > 0, JSON.stringify(e)).toBe(needsValues);
      }
    }
    for (const p of peers) {
      expect(Boolean(p.ipBlock) !== Boolean(p.podSelector || p.namespaceSelector), JSON.stringify(p)).toBe(
        true,
      );
    }
  });

  it('puts endPort only on numbered ports, not below port; named ports are IANA_SVC_NAMEs', () => {
    for (const p of ports) {
      if (p.endPort !== undefined) expect(typeof p.port === 'number' && p.endPort >= p.port).toBe(true);
      if (typeof p.port === 'string') expect(p.port).toMatch(/^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$/);
    }
  });

  it('names each pod once with a distinct address, and container ports with distinct names', () => {
    for (const w of worlds) {
      expect(new Set(w.pods.map((p) => `${p.namespace}/${p.name}`)).size).toBe(w.pods.length);
      expect(new Set(w.pods.map((p) => p.ip)).size).toBe(w.pods.length);
      for (const p of w.pods) {
        const names = p.ports.flatMap((c) => (c.name ? [c.name] : []));
        expect(new Set(names).size).toBe(names.length);
      }
    }
  });
});
