// Space: the model's validateSpace (CIDR a private /16, name, region, trusted ranges; on update
// spec.cidr, spec.region and spec.generation unchanged).
import type { Space } from '../../api/v1alpha1/index.ts';
import { DEFAULT_SETTINGS, validateSpace, type PlatformSettings } from '../../model/index.ts';
import { denyFieldErrors } from '../errors.ts';
import type { KindHandler } from '../types.ts';
import { specUnchanged } from './context.ts';

export function spaceHandler(settings: PlatformSettings = DEFAULT_SETTINGS): KindHandler<Space> {
  return {
    onCreate: ({ object }) => denyFieldErrors('Space', object, validateSpace(object, undefined, settings)),
    onUpdate({ object, oldObject }) {
      if (!oldObject || specUnchanged(object, oldObject)) return undefined;
      return denyFieldErrors('Space', object, validateSpace(object, oldObject, settings));
    },
  };
}
