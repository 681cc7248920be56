// Status helpers the controllers share: how a spec that retrying cannot fix is reported.
import type { KubernetesObject } from '@kubernetes/client-node';
import { readyConditions, type Condition } from '../engine/index.ts';
import type { Ctx } from './context.ts';

export function errorText(errors: readonly { field: string; message: string }[]): string {
  return errors.map((e) => e.message).join('; ');
}

/**
 * Input that retrying cannot fix: Stalled / InvalidSpec for this generation (the rest of the
 * status kept as it is) and a Warning event naming the field.
 */
export async function reportInvalidSpec(
  c: Ctx,
  obj: KubernetesObject & { status?: { conditions?: Condition[] } },
  message: string,
  /** The Stalled condition's and the event's reason (e.g. SelectorConflict). */
  reason = 'InvalidSpec',
  /** What else the status gets (another controller's report). */
  more: (status: { conditions: Condition[]; observedGeneration?: number }) => object = (status) => status,
): Promise<void> {
  const generation = obj.metadata?.generation;
  await c.status.patchStatus(
    obj,
    more({
      ...obj.status,
      observedGeneration: generation,
      conditions: readyConditions(obj.status?.conditions, { state: 'Stalled', reason, message }, generation),
    }),
  );
  await c.events.emit(obj, { type: 'Warning', reason, action: 'Validate', note: message });
}
