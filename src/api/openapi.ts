// TypeBox schema → Kubernetes structural OpenAPI v3 (the CRD's openAPIV3Schema).
//
// TypeBox stays the single source: the same schema gives the TypeScript type, TypeBox's
// Value.Check/Default, and (through here) the CRD. The translation is small and strict:
//   - a union of string literals becomes `type: string` + `enum`; a lone literal likewise;
//   - Type.Record becomes `additionalProperties` (patternProperties is forbidden in CRDs);
//   - `additionalProperties: false` is dropped (the apiserver prunes unknown fields instead);
//   - a property with a `default` is not `required` in the CRD (the apiserver fills it) though it
//     is required in the TypeScript type (every object read back from the API has it);
//   - the root `metadata` is `{type: object}` (the apiserver owns its schema).
// Anything else a CRD cannot express ($ref, other unions, ...) throws, so a bad schema fails
// the generator and the unit test instead of the apiserver.
import type { TSchema } from '@sinclair/typebox';

export type OpenAPISchema = { [key: string]: unknown };

/** Keys a structural schema must not contain. */
export const FORBIDDEN_KEYS = [
  '$ref',
  '$schema',
  '$id',
  'id',
  'definitions',
  'dependencies',
  'additionalItems',
  'patternProperties',
  'const',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
] as const;

export function toStructural(schema: TSchema): OpenAPISchema {
  const root = convert(JSON.parse(JSON.stringify(schema)) as OpenAPISchema, '');
  const props = root['properties'] as Record<string, OpenAPISchema> | undefined;
  // The apiserver owns metadata's schema; a CRD may only declare metadata.name (for CEL rules on it).
  if (props?.['metadata']) props['metadata'] = { type: 'object', properties: { name: { type: 'string' } } };
  // apiVersion, kind and metadata are the apiserver's business, never the user's to omit.
  const required = (root['required'] as string[] | undefined)?.filter((n) => !ROOT_FIELDS.has(n));
  if (required && required.length > 0) root['required'] = required;
  else delete root['required'];
  return root;
}

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);
/** Keys first in this order (readable YAML); the rest keep their order, children last. */
const KEY_ORDER = ['description', 'type'];
const CHILD_KEYS = ['required', 'properties', 'items', 'additionalProperties'];

function ordered(node: OpenAPISchema): OpenAPISchema {
  const out: OpenAPISchema = {};
  for (const key of KEY_ORDER) if (key in node) out[key] = node[key];
  for (const [key, value] of Object.entries(node)) {
    if (!KEY_ORDER.includes(key) && !CHILD_KEYS.includes(key)) out[key] = value;
  }
  for (const key of CHILD_KEYS) if (key in node) out[key] = node[key];
  return out;
}

function convert(node: OpenAPISchema, path: string): OpenAPISchema {
  let out: OpenAPISchema = { ...node };
  out = literalsToEnum(out, path);
  if (out['patternProperties'] !== undefined) out = recordToMap(out, path);
  if (out['additionalProperties'] === false) delete out['additionalProperties'];
  for (const key of FORBIDDEN_KEYS) {
    if (key in out) throw new Error(`${path || '<root>'}: '${key}' cannot be expressed in a CRD schema`);
  }
  const props = out['properties'] as Record<string, OpenAPISchema> | undefined;
  if (props) {
    const converted: Record<string, OpenAPISchema> = {};
    for (const [name, child] of Object.entries(props)) converted[name] = convert(child, `${path}.${name}`);
    out['properties'] = converted;
    pruneRequired(out, converted);
  }
  if (isSchema(out['items'])) out['items'] = convert(out['items'], `${path}[]`);
  if (isSchema(out['additionalProperties'])) {
    out['additionalProperties'] = convert(out['additionalProperties'], `${path}{}`);
  }
  return ordered(out);
}

function isSchema(v: unknown): v is OpenAPISchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function literalsToEnum(node: OpenAPISchema, path: string): OpenAPISchema {
  const { anyOf, const: single, ...rest } = node;
  if (single !== undefined) return { ...rest, type: typeof single, enum: [single] };
  if (anyOf === undefined) return node;
  const members = anyOf as OpenAPISchema[];
  const values = members.map((m) => m['const']);
  const types = new Set(values.map((v) => typeof v));
  if (values.some((v) => v === undefined) || types.size !== 1) {
    throw new Error(`${path}: only unions of literals of one type can become a CRD enum`);
  }
  return { ...rest, type: [...types][0], enum: values };
}

function recordToMap(node: OpenAPISchema, path: string): OpenAPISchema {
  const { patternProperties, properties, ...rest } = node;
  const entries = Object.values(patternProperties as Record<string, OpenAPISchema>);
  if (entries.length !== 1 || (properties && Object.keys(properties).length > 0)) {
    throw new Error(`${path}: a map must have exactly one value schema and no fixed properties`);
  }
  return { ...rest, additionalProperties: entries[0] };
}

function pruneRequired(node: OpenAPISchema, props: Record<string, OpenAPISchema>): void {
  const required = (node['required'] as string[] | undefined)?.filter(
    (n) => props[n]?.['default'] === undefined,
  );
  if (required && required.length > 0) node['required'] = required;
  else delete node['required'];
}

/**
 * The problems that make a schema non-structural, as `path: problem` strings (empty = fine):
 * a node without `type` (unless int-or-string / preserve-unknown-fields), a forbidden key, or
 * `properties` together with `additionalProperties`.
 */
export function structuralProblems(node: OpenAPISchema, path = ''): string[] {
  const problems = nodeProblems(node, path || '<root>');
  const props = (node['properties'] ?? {}) as Record<string, OpenAPISchema>;
  for (const [name, child] of Object.entries(props))
    problems.push(...structuralProblems(child, `${path}.${name}`));
  if (isSchema(node['items'])) problems.push(...structuralProblems(node['items'], `${path}[]`));
  if (isSchema(node['additionalProperties'])) {
    problems.push(...structuralProblems(node['additionalProperties'], `${path}{}`));
  }
  return problems;
}

/** The problems of one node, its children aside. */
function nodeProblems(node: OpenAPISchema, here: string): string[] {
  const problems: string[] = [];
  const free =
    node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (typeof node['type'] !== 'string' && !free) problems.push(`${here}: no type`);
  for (const key of FORBIDDEN_KEYS) if (key in node) problems.push(`${here}: forbidden key ${key}`);
  if (node['properties'] !== undefined && node['additionalProperties'] !== undefined) {
    problems.push(`${here}: properties and additionalProperties together`);
  }
  return problems;
}
