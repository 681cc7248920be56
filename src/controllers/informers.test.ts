import { expect, it } from 'vitest';
import { controllingApps } from './informers.ts';

const policy = (namespace: string, refs: object[]): Parameters<typeof controllingApps>[0] => ({
  metadata: { name: 'app-billing.worker', namespace, ownerReferences: refs as never },
});
const app = (uid: string, controller = true): object => ({
  apiVersion: 'privatespaces.dev/v1alpha1',
  kind: 'App',
  name: 'billing',
  uid,
  controller,
});

it('keys a policy by the namespace it is in and the uid of the App that controls it', () => {
  expect(controllingApps(policy('acme', [app('u1')]))).toEqual(['acme/u1']);
  // Another namespace naming acme's App: its own namespace's key, never acme's.
  expect(controllingApps(policy('mallory', [app('u1')]))).toEqual(['mallory/u1']);
  // Not a controller, or not an App: no key.
  expect(controllingApps(policy('acme', [app('u1', false)]))).toEqual([]);
  expect(controllingApps(policy('acme', [{ ...app('u2'), kind: 'Deployment' }]))).toEqual([]);
  expect(controllingApps({ metadata: { name: 'x', namespace: 'acme' } })).toEqual([]);
});
