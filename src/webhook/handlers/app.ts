// App: the model's validateApp with the Space of the App's namespace, so the webhook refuses with
// exactly the reconciler's words: no Space for the namespace (metadata.namespace), Internal
// Routing in a fir Space or with ACM, and, on update, spec.internalRouting changed either way.
import type { App } from '../../api/v1alpha1/index.ts';
import { DEFAULT_SETTINGS, validateApp, type PlatformSettings } from '../../model/index.ts';
import { denyFieldErrors } from '../errors.ts';
import type { KindHandler, Lookup } from '../types.ts';
import { specUnchanged } from './context.ts';

export function appHandler(lookup: Lookup, settings: PlatformSettings = DEFAULT_SETTINGS): KindHandler<App> {
  return {
    async onCreate({ object }) {
      const space = await lookup.space(object.metadata.namespace ?? '');
      return denyFieldErrors('App', object, validateApp(object, space, undefined, settings));
    },
    async onUpdate({ object, oldObject }) {
      // Metadata-only changes (finalizers, labels) and deletions always go through.
      if (!oldObject || specUnchanged(object, oldObject)) return undefined;
      const space = await lookup.space(object.metadata.namespace ?? '');
      return denyFieldErrors('App', object, validateApp(object, space, oldObject, settings));
    },
  };
}
