import { describe, expect, it } from 'vitest';
import { parseApp, parsePeering, parseSpace } from './parse.ts';

const envelope = (kind: string, extra: object): object => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind,
  metadata: { name: 'x', namespace: 'acme' },
  ...extra,
});

describe('parse', () => {
  it('fills the defaults the apiserver fills', () => {
    expect(parseSpace(envelope('Space', {}))).toMatchObject({
      ok: true,
      value: {
        spec: { cidr: '10.0.0.0/16', region: 'us', generation: 'cedar', trustedIPRanges: ['0.0.0.0/0'] },
      },
    });
    expect(parseApp(envelope('App', { spec: { internalRouting: true } }))).toMatchObject({
      ok: true,
      value: { spec: { internalRouting: true, port: 5000, acm: false } },
    });
  });

  it('does not modify its input', () => {
    const input = envelope('Space', {});
    parseSpace(input);
    expect(input).not.toHaveProperty('spec');
  });

  it.each([
    ['Space', parseSpace, { spec: { cidr: 5 } }, 'spec.cidr'],
    ['Space', parseSpace, { spec: { generation: 'oak' } }, 'spec.generation'],
    ['Space', parseSpace, { spec: { trustedIPRanges: ['a', 1] } }, 'spec.trustedIPRanges[1]'],
    ['App', parseApp, { spec: { port: 0 } }, 'spec.port'],
    ['App', parseApp, { spec: { internalRouting: 'yes' } }, 'spec.internalRouting'],
    ['Peering', parsePeering, { spec: { type: 'vpc', cidrs: [] } }, 'spec.cidrs'],
    ['Peering', parsePeering, {}, 'spec'],
  ])('%s: a bad %j is reported at %s', (kind, parse, extra, field) => {
    const r = parse(envelope(kind, extra));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.field)).toContain(field);
  });
});
