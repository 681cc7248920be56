// Shared pieces of the v1alpha1 schemas: group/version, object metadata, status conditions
// and the CIDR / DNS string schemas. TypeBox schemas are the single source of truth: the
// TypeScript types are `Static<>` of them and src/api/openapi.ts turns them into the CRDs'
// structural OpenAPI. Every string or list that a CEL rule reads is bounded (maxLength /
// maxItems) so the apiserver's CEL cost estimate stays small.
import {
  Type,
  type ObjectOptions,
  type TArray,
  type TInteger,
  type TLiteral,
  type TObject,
  type TOptionalWithFlag,
  type TSchema,
  type TString,
  type TUnion,
} from '@sinclair/typebox';
import { API_VERSION } from './constants.ts';

/** One `x-kubernetes-validations` entry. */
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Schema options carrying CEL rules (TypeBox passes unknown keys through). */
export function cel(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** A transition rule: the field can be set at creation and never changed. */
export function immutable(message: string): CelRule {
  return { rule: 'self == oldSelf', message };
}

/** A string enum (TypeBox union of literals; the CRD gets `type: string` + `enum` + maxLength for CEL cost). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnion<TLiteral<T[number]>[]> {
  const maxLength = Math.max(...values.map((v) => v.length));
  return Type.Union(
    values.map((v: T[number]) => Type.Literal(v)),
    { maxLength, ...options },
  );
}

/** Longest IPv4 CIDR text: 255.255.255.255/32. */
export const CIDR_MAX_LENGTH = 18;
/** RFC 1123 DNS subdomain, lower case. */
export const DNS_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
/** RFC 1123 DNS label (namespace names, regions). */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** CEL: an IPv4 CIDR (`isCIDR` and `cidr()` are in the Kubernetes CEL library since 1.31). */
export const CEL_IPV4_CIDR = 'isCIDR(self) && cidr(self).ip().family() == 4';
/** CEL: the CIDR is written as its network address (no host bits), or is not a CIDR at all. */
export const CEL_CANONICAL_CIDR = '!isCIDR(self) || string(cidr(self).masked()) == self';
/** CEL: the CIDR lies inside one of the RFC 1918 private ranges, or is not a CIDR at all. */
export const CEL_RFC1918 =
  "!isCIDR(self) || cidr('10.0.0.0/8').containsCIDR(self) || cidr('172.16.0.0/12').containsCIDR(self)" +
  " || cidr('192.168.0.0/16').containsCIDR(self)";

export interface CidrFieldOptions {
  /** Field path named in every CEL message, e.g. spec.cidr. */
  field: string;
  example: string;
  description: string;
  rules?: CelRule[];
  default?: string;
}

/** An IPv4 CIDR string; the field path is named in every CEL message. */
export function Ipv4Cidr(o: CidrFieldOptions): TString {
  return Type.String({
    description: o.description,
    ...(o.default === undefined ? {} : { default: o.default }),
    maxLength: CIDR_MAX_LENGTH,
    ...cel(
      { rule: CEL_IPV4_CIDR, message: `${o.field} must be an IPv4 CIDR such as ${o.example}` },
      {
        rule: CEL_CANONICAL_CIDR,
        message: `${o.field} must be written as a network address with no host bits set, such as ${o.example}`,
      },
      ...(o.rules ?? []),
    ),
  });
}

/** metadata as the model reads it; the CRD itself only declares `metadata: {type: object}`. */
export const ObjectMetaSchema = Type.Object({
  name: Type.String({ description: 'Name of the object.' }),
  namespace: Type.Optional(Type.String({ description: 'Namespace of the object (namespaced kinds).' })),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
});

/** The standard metav1.Condition shape, so kstatus, Flux and `kubectl wait` understand it. */
export const ConditionSchema = Type.Object({
  type: Type.String({
    description: 'Type of condition in CamelCase: Ready, Reconciling or Stalled.',
    maxLength: 316,
    pattern:
      '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
  }),
  status: StringEnum(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition.' }),
  observedGeneration: Type.Optional(
    Type.Integer({ minimum: 0, description: 'The .metadata.generation the condition was set from.' }),
  ),
  lastTransitionTime: Type.String({
    description: 'Last time the condition changed status (RFC 3339).',
    maxLength: 64,
  }),
  reason: Type.String({
    description: "Machine-readable CamelCase reason for the condition's last transition.",
    minLength: 1,
    maxLength: 1024,
    pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
  }),
  message: Type.String({ description: 'Human-readable details about the transition.', maxLength: 32768 }),
});

export function Conditions(kind: string): TArray<typeof ConditionSchema> {
  return Type.Array(ConditionSchema, {
    description: `Latest observations of the ${kind}'s state: Ready, Reconciling, Stalled.`,
    maxItems: 8,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

export function ObservedGeneration(): TInteger {
  return Type.Integer({
    minimum: 0,
    description: 'The .metadata.generation the operator last reconciled.',
  });
}

export const ApiVersionField = Type.String({
  description: `APIVersion of this object: ${API_VERSION}.`,
});

export function KindField(kind: string): TString {
  return Type.String({ description: `Kind of this object: ${kind}.` });
}

/** A custom resource's schema: apiVersion, kind, metadata, spec and optional status. */
export function ResourceSchema<Spec extends TSchema, Status extends TSchema>(
  kind: string,
  spec: Spec,
  status: Status,
  options: ObjectOptions,
): TObject<{
  apiVersion: TString;
  kind: TString;
  metadata: typeof ObjectMetaSchema;
  spec: Spec;
  status: TOptionalWithFlag<Status, true>;
}> {
  return Type.Object(
    {
      apiVersion: ApiVersionField,
      kind: KindField(kind),
      metadata: ObjectMetaSchema,
      spec,
      status: Type.Optional(status),
    },
    options,
  );
}
