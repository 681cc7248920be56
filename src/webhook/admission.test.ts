import { describe, expect, it } from 'vitest';
import { decide, parseReview, responseFor } from './admission.ts';
import { MalformedReviewError } from './errors.ts';
import { request } from '../../test/support/webhook-fixtures.ts';
import type { HandlerMap, KindHandler, KubeObject } from './types.ts';

const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' } };
const review = (req: unknown) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: req,
});

describe('parseReview', () => {
  it('accepts an AdmissionReview v1', () => {
    expect(parseReview(review(request('CREATE', cm))).uid).toBe('uid-1');
  });

  it.each([
    ['not an object', 'x'],
    [
      'a v1beta1 review',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: request('CREATE', cm) },
    ],
    ['no request', review(undefined)],
    ['no uid', review({ ...request('CREATE', cm), uid: '' })],
    ['no kind', review({ ...request('CREATE', cm), kind: undefined })],
    ['a bad operation', review({ ...request('CREATE', cm), operation: 'PATCH' })],
    ['CREATE without object', review({ ...request('CREATE', cm), object: null })],
    ['UPDATE without oldObject', review({ ...request('UPDATE', cm), oldObject: null })],
    ['DELETE without oldObject', review({ ...request('DELETE', cm), oldObject: null })],
  ])('rejects %s', (_what, body) => {
    expect(() => parseReview(body)).toThrow(MalformedReviewError);
  });
});

describe('decide', () => {
  const seen: string[] = [];
  const h: KindHandler<KubeObject> = {
    onCreate: () => {
      seen.push('create');
      return { allowed: false, message: 'no' };
    },
    onUpdate: ({ oldObject }) => {
      seen.push(`update:${oldObject?.metadata?.name}`);
      return undefined;
    },
    onDelete: ({ object }) => {
      seen.push(`delete:${object.metadata?.name}`);
      return { allowed: true, warnings: ['careful'] };
    },
  };
  const handlers: HandlerMap = { '/ConfigMap': h };

  it('dispatches by group/Kind and operation; nothing means allow', async () => {
    expect(await decide(request('CREATE', cm), handlers)).toEqual({ allowed: false, message: 'no' });
    expect(await decide(request('UPDATE', cm, cm), handlers)).toEqual({ allowed: true });
    expect(await decide(request('DELETE', cm), handlers)).toEqual({ allowed: true, warnings: ['careful'] });
    expect(seen).toEqual(['create', 'update:x', 'delete:x']);
  });

  it('allows kinds without a handler and subresources', async () => {
    const secret = { ...cm, kind: 'Secret' };
    expect(await decide(request('CREATE', secret), handlers)).toEqual({ allowed: true });
    expect(await decide({ ...request('CREATE', cm), subResource: 'status' }, handlers)).toEqual({
      allowed: true,
    });
  });
});

describe('responseFor', () => {
  it('carries uid, allowed and a 403 Forbidden status with the message', () => {
    expect(responseFor('u', { allowed: false, message: 'why' })).toEqual({
      uid: 'u',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'why' },
    });
    expect(responseFor('u', { allowed: true, warnings: [] })).toEqual({ uid: 'u', allowed: true });
  });
});
