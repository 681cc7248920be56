// privatespaces.dev/v1alpha1: the Space, App and Peering kinds (schemas and types).
export * from './constants.ts';
export * from './common.ts';
export * from './space.ts';
export * from './app.ts';
export * from './tls.ts';
export * from './peering.ts';
