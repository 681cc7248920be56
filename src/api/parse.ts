// Reading Space / App / Peering objects that did not come from the apiserver (files, tests, the
// CLI): apply the schema defaults the apiserver would apply, then check the shape. CEL rules are
// not run here; src/model/validate.ts holds the same rules (and those CEL cannot express).
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppSchema, type App } from './v1alpha1/app.ts';
import { PeeringSchema, type Peering } from './v1alpha1/peering.ts';
import { SpaceSchema, type Space } from './v1alpha1/space.ts';

export interface SchemaError {
  /** Dotted path, e.g. spec.port. */
  field: string;
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: SchemaError[] };

function dotted(pointer: string): string {
  return pointer
    .replace(/^\//, '')
    .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
    .replaceAll('/', '.');
}

/** A defaulted copy of `input` if it fits `schema`, else the problems (input is never modified). */
export function parseWith<S extends TSchema>(schema: S, input: unknown): ParseResult<Static<S>> {
  const value = Value.Default(schema, Value.Clone(input));
  if (Value.Check(schema, value)) return { ok: true, value };
  const errors = [...Value.Errors(schema, value)].map((e) => ({ field: dotted(e.path), message: e.message }));
  return { ok: false, errors };
}

export function parseSpace(input: unknown): ParseResult<Space> {
  return parseWith(SpaceSchema, input);
}

export function parseApp(input: unknown): ParseResult<App> {
  return parseWith(AppSchema, input);
}

export function parsePeering(input: unknown): ParseResult<Peering> {
  return parseWith(PeeringSchema, input);
}
