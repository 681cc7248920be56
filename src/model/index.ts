// The pure model: CR in → desired children out, validation, CIDR math and DNS names. No I/O.
// Contract: docs/ARCHITECTURE.md ("The model's contract").
export * from './types.ts';
export * from './labels.ts';
export * from './cidr.ts';
export * from './checks.ts';
export * from './validate.ts';
export * from './space.ts';
export * from './app.ts';
export * from './processes.ts';
export * from './peering.ts';
export * from './dns.ts';
export * from './settings.ts';
