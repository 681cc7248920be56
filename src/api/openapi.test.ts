import { Type, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { StringEnum } from './v1alpha1/common.ts';
import { structuralProblems, toStructural } from './openapi.ts';

describe('toStructural', () => {
  it.each<[string, TSchema, unknown]>([
    [
      'string enum',
      StringEnum(['a', 'b'] as const, { description: 'd' }),
      { description: 'd', type: 'string', maxLength: 1, enum: ['a', 'b'] },
    ],
    ['single literal', Type.Literal('x'), { type: 'string', enum: ['x'] }],
    [
      'record → additionalProperties',
      Type.Record(Type.String(), Type.String(), { maxProperties: 3 }),
      { type: 'object', maxProperties: 3, additionalProperties: { type: 'string' } },
    ],
    [
      'defaulted properties are not required',
      Type.Object({ a: Type.String(), b: Type.Integer({ default: 1 }), c: Type.Optional(Type.Boolean()) }),
      {
        type: 'object',
        required: ['a'],
        properties: { a: { type: 'string' }, b: { type: 'integer', default: 1 }, c: { type: 'boolean' } },
      },
    ],
    [
      'additionalProperties: false is dropped',
      Type.Object({ a: Type.String() }, { additionalProperties: false }),
      { type: 'object', required: ['a'], properties: { a: { type: 'string' } } },
    ],
    [
      'root: metadata owned by the apiserver, envelope not required',
      Type.Object({
        apiVersion: Type.String(),
        kind: Type.String(),
        metadata: Type.Object({ name: Type.String() }),
      }),
      {
        type: 'object',
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { type: 'object', properties: { name: { type: 'string' } } },
        },
      },
    ],
    [
      'arrays',
      Type.Array(StringEnum(['x'] as const), { maxItems: 2 }),
      { type: 'array', maxItems: 2, items: { type: 'string', maxLength: 1, enum: ['x'] } },
    ],
  ])('%s', (_name, schema, want) => {
    expect(toStructural(schema)).toEqual(want);
    expect(structuralProblems(toStructural(schema))).toEqual([]);
  });

  it.each<[string, TSchema, RegExp]>([
    [
      'mixed union',
      Type.Object({ a: Type.Union([Type.String(), Type.Integer()]) }),
      /\.a: only unions of literals/,
    ],
    [
      'mixed literal types',
      Type.Union([Type.Literal('a'), Type.Literal(1)]),
      /only unions of literals of one type/,
    ],
    ['$ref', Type.Object({ a: Type.Unsafe({ $ref: 'X' }) }), /\.a: '\$ref' cannot be expressed/],
    [
      'intersection',
      Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })]),
      /allOf/,
    ],
  ])('refuses %s', (_name, schema, message) => expect(() => toStructural(schema)).toThrow(message));
});

describe('structuralProblems', () => {
  it.each([
    [{ type: 'object', properties: { a: {} } }, ['.a: no type']],
    [{ properties: {} }, ['<root>: no type']],
    [{ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, []],
    [{ 'x-kubernetes-int-or-string': true }, []],
    [
      { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
      ['<root>: properties and additionalProperties together'],
    ],
    [{ type: 'array', items: { anyOf: [] } }, ['[]: no type', '[]: forbidden key anyOf']],
    [{ type: 'string', $ref: '#' }, ['<root>: forbidden key $ref']],
  ])('%j → %j', (schema, want) => expect(structuralProblems(schema)).toEqual(want));
});
