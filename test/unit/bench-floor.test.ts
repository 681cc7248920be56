// The bench's floor subject (bench/floor/): choosing it with --peer-variants, its desired
// objects against what the bench waits for (bench/workload.ts `expected`, from the operator's
// model), and its column in the side-by-side table.
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../bench/args.ts';
import {
  activeCidrs,
  appChildren,
  peeringStatus,
  spaceChildren,
  type Obj,
} from '../../bench/floor/objects.ts';
import { subjectOf } from '../../bench/peer.ts';
import { sideBySideTable } from '../../bench/table.ts';
import {
  TRUSTED_CHANGED,
  activated,
  expected,
  policyCidrs,
  sourceRanges,
  space,
  workload,
} from '../../bench/workload.ts';

describe('--peer-variants floor', () => {
  it('is a variant of its own, run as the floor subject, in the order of the list of variants', () => {
    const args = parseBenchArgs(['--peer', '--peer-variants', 'floor,tuned']);
    expect(args.peerVariants).toEqual(['tuned', 'floor']);
    expect(args.peerVariants.map(subjectOf)).toEqual(['peer-tuned', 'floor']);
    expect(parseBenchArgs([]).peerVariants).toEqual(['defaults', 'tuned']);
  });

  it('writes as the operator does unless --floor-always-write', () => {
    expect(parseBenchArgs(['--peer', '--peer-variants', 'floor']).floorAlwaysWrite).toBe(false);
    expect(
      parseBenchArgs(['--peer', '--peer-variants', 'floor', '--floor-always-write']).floorAlwaysWrite,
    ).toBe(true);
  });

  it('refuses an unknown variant', () => {
    expect(() => parseBenchArgs(['--peer-variants', 'tuned,flor'])).toThrow(/"flor" is not one of/);
  });
});

describe('the floor’s objects', () => {
  const w = workload({ s1: 2, peerings: 4, a1: 8, spacesTotal: 2 });
  const peeringsOf = (ns: string): Obj[] =>
    activated(w.peerings.filter((p) => p.metadata.namespace === ns)) as unknown as Obj[];

  it('gives every App of the workload the children the bench waits for', () => {
    for (const trusted of [undefined, TRUSTED_CHANGED]) {
      for (const a of w.apps) {
        const s = trusted
          ? space(Number(a.metadata.namespace!.slice(7)), trusted)
          : w.spaces.find((x) => x.metadata.name === a.metadata.namespace)!;
        const cidrs = a.spec.internalRouting ? activeCidrs(peeringsOf(s.metadata.name)) : [];
        const [svc, np] = appChildren(a as unknown as Obj, s as unknown as Obj, cidrs) as [Obj, Obj];
        const exp = expected(a, s, w.peerings);
        expect(policyCidrs(np)).toBe(exp.policyCidrs);
        if (exp.sourceRanges !== undefined) expect(sourceRanges(svc)).toBe(exp.sourceRanges);
        expect(svc.spec.type).toBe(a.spec.internalRouting ? 'ClusterIP' : 'LoadBalancer');
      }
    }
  });

  it('counts only active Peerings, each CIDR once, sorted', () => {
    const p = (cidrs: string[], phase?: string): Obj => ({
      metadata: { name: 'p' },
      spec: { cidrs },
      status: phase ? { phase } : undefined,
    });
    expect(
      activeCidrs([
        p(['10.9.0.0/16', '10.10.0.0/16'], 'active'),
        p(['10.10.0.0/16'], 'active'),
        p(['1.2.3.0/24']),
      ]),
    ).toEqual(['10.10.0.0/16', '10.9.0.0/16']);
  });

  it('owns a Space’s namespace unless it was adopted, and marks a Peering pending without its Space', () => {
    const s = {
      ...w.spaces[0]!,
      metadata: { ...w.spaces[0]!.metadata, uid: 'u1', generation: 1 },
    } as unknown as Obj;
    expect(spaceChildren(s, false)[0]!.metadata?.ownerReferences?.[0]?.uid).toBe('u1');
    expect(spaceChildren(s, true)[0]!.metadata?.ownerReferences).toBeUndefined();
    const pe = w.peerings[0] as unknown as Obj;
    expect(peeringStatus(pe, undefined)).toMatchObject({ phase: 'pending' });
    expect(peeringStatus(pe, s)).toMatchObject({ phase: 'active', routes: [w.spaces[0]!.spec.cidr] });
  });
});

describe('the side-by-side table', () => {
  const run = (cpu: number) => ({ convergence: { apps: 1000, cpuMsPerApp: cpu } });

  it('adds the floor’s column and its two ratios when the floor ran', () => {
    const t = sideBySideTable({ ...run(8), peers: { tuned: run(4), floor: run(6) } });
    expect(t).toContain('floor (peer in Node)');
    expect(t).toMatch(/CPU ms per App +\| 8 +\| - +\| 4 +\| 6 +\| 2x +\| 1\.33x +\| 1\.5x +\|/);
  });

  it('says how the CPU per App grows from the first phase to --big, per column', () => {
    const big = (first: number, then: number) => ({
      convergence: { apps: 1000, cpuMsPerApp: first },
      big: { apps: 10000, cpuMsPerApp: then },
    });
    const t = sideBySideTable({ ...big(8, 12), peers: { tuned: big(4, 5) } });
    expect(t).toMatch(/big: CPU per App over the first phase’s +\| 1\.5 +\| - +\| 1\.25 +\| 1\.2x +\|/);
  });

  it('is as before without the floor', () => {
    const t = sideBySideTable({ ...run(8), peers: { tuned: run(4) } });
    expect(t).not.toContain('floor');
    expect(t).toMatch(/CPU ms per App +\| 8 +\| - +\| 4 +\| 2x +\|/);
  });
});
