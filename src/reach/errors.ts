// Named error constructors of the reachability module. The evaluator is pure: it throws only for input
// the apiserver would have refused (an unknown selector operator, a malformed CIDR), so a caller that
// feeds it objects read from the cluster never sees these.
import { InvalidCidrError } from '../model/cidr.ts';

/** Input that no valid Kubernetes object can hold. `field` names where it was found. */
export class InvalidReachInputError extends Error {
  override name = 'InvalidReachInputError';
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

export function invalidSelectorOperator(operator: string): InvalidReachInputError {
  return new InvalidReachInputError(
    'matchExpressions.operator',
    `unknown label selector operator "${operator}" (expected In, NotIn, Exists or DoesNotExist)`,
  );
}

/**
 * `compute()`, with a CIDR or address the shared CIDR module (src/model/cidr.ts) cannot read reported as
 * this module's error: same field (`cidr` or `ip`), same message.
 */
export function asReachInput<T>(compute: () => T): T {
  try {
    return compute();
  } catch (err) {
    if (err instanceof InvalidCidrError)
      throw new InvalidReachInputError(err.field, err.reason, { cause: err.cause });
    throw err;
  }
}
