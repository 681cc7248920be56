// Named error constructors of the reachability module. The evaluator is pure: it throws only for input
// the apiserver would have refused (an unknown selector operator, a malformed CIDR), so a caller that
// feeds it objects read from the cluster never sees these.

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

export function invalidCidr(value: string, cause?: unknown): InvalidReachInputError {
  return new InvalidReachInputError('cidr', `"${value}" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/16`, {
    cause,
  });
}

export function invalidIp(value: string, cause?: unknown): InvalidReachInputError {
  return new InvalidReachInputError('ip', `"${value}" is not an IPv4 or IPv6 address`, { cause });
}
