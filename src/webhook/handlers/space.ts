// Space: the model's validateSpace (CIDR a private /16, name, region, trusted ranges; on update
// spec.cidr, spec.region and spec.generation unchanged), and no Space named after a system
// namespace or the operator's own (its namespace would be taken over, then deleted with it).
import type { Space } from '../../api/v1alpha1/index.ts';
import {
  DEFAULT_SETTINGS,
  reservedSpaceNameError,
  validateSpace,
  type FieldError,
  type PlatformSettings,
} from '../../model/index.ts';
import { denyFieldErrors } from '../errors.ts';
import type { KindHandler } from '../types.ts';
import { specUnchanged } from './context.ts';

function nameErrors(space: Space, settings: PlatformSettings): FieldError[] {
  const message = reservedSpaceNameError(space.metadata.name, settings);
  return message ? [{ field: 'metadata.name', message }] : [];
}

export function spaceHandler(settings: PlatformSettings = DEFAULT_SETTINGS): KindHandler<Space> {
  return {
    onCreate: ({ object }) =>
      denyFieldErrors('Space', object, [
        ...nameErrors(object, settings),
        ...validateSpace(object, undefined, settings),
      ]),
    onUpdate({ object, oldObject }) {
      if (!oldObject || specUnchanged(object, oldObject)) return undefined;
      return denyFieldErrors('Space', object, validateSpace(object, oldObject, settings));
    },
  };
}
