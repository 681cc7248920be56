// Space: the model's validateSpace (CIDR a private /16, name, region, trusted ranges; on update
// spec.cidr, spec.region and spec.generation unchanged), and no Space named after a system
// namespace or the operator's own (its namespace would be taken over, then deleted with it);
// its domain neither equal to, inside nor above another Space's, and above no custom domain of
// another Space's App (it would capture their names: a Space's domain outranks custom domains).
import type { Space } from '../../api/v1alpha1/index.ts';
import {
  DEFAULT_SETTINGS,
  reservedSpaceNameError,
  spaceDnsDomain,
  spaceDomainOverlapErrors,
  underSuffix,
  validateSpace,
  type FieldError,
  type PlatformSettings,
} from '../../model/index.ts';
import { denyFieldErrors } from '../errors.ts';
import type { KindHandler, Lookup } from '../types.ts';
import { specUnchanged } from './context.ts';

function nameErrors(space: Space, settings: PlatformSettings): FieldError[] {
  const message = reservedSpaceNameError(space.metadata.name, settings);
  return message ? [{ field: 'metadata.name', message }] : [];
}

/**
 * The Space's domain against the other Spaces (`spaceDomainOverlapErrors`) and their Apps'
 * custom domains: one under it would stop answering for its App, whatever the App's age.
 */
async function domainErrors(space: Space, lookup: Lookup): Promise<FieldError[]> {
  const others = (await lookup.spaces()).filter((s) => s.metadata.name !== space.metadata.name);
  const overlap = spaceDomainOverlapErrors(space, others);
  if (overlap.length > 0) return overlap;
  const mine = spaceDnsDomain(space);
  for (const other of others) {
    for (const app of await lookup.appsIn(other.metadata.name)) {
      const taken = (app.spec.domains ?? []).find((d) => underSuffix(d, mine));
      if (taken === undefined) continue;
      const owner = `${app.metadata.namespace}/${app.metadata.name}`;
      const message = `${mine} is above ${taken}, a custom domain of App ${owner} in Space ${other.metadata.name}; pick a domain that holds no other Space's names`;
      return [{ field: 'spec.dnsDomain', message }];
    }
  }
  return [];
}

export function spaceHandler(
  lookup: Lookup,
  settings: PlatformSettings = DEFAULT_SETTINGS,
): KindHandler<Space> {
  return {
    onCreate: async ({ object }) =>
      denyFieldErrors('Space', object, [
        ...nameErrors(object, settings),
        ...validateSpace(object, undefined, settings),
        ...(await domainErrors(object, lookup)),
      ]),
    async onUpdate({ object, oldObject }) {
      if (!oldObject || specUnchanged(object, oldObject)) return undefined;
      const domain =
        object.spec.dnsDomain === oldObject.spec.dnsDomain ? [] : await domainErrors(object, lookup);
      return denyFieldErrors('Space', object, [...validateSpace(object, oldObject, settings), ...domain]);
    },
  };
}
