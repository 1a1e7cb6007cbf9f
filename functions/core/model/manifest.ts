/**
 * The model manifest's one public face: its schema and types, imported by 34 modules. The parts
 * live in manifest/: names.ts, inputs.ts, input-checks.ts, outputs.ts, target.ts, stats.ts and
 * schema.ts, which joins them.
 */
export * from './manifest/inputs.ts';
export * from './manifest/names.ts';
export * from './manifest/outputs.ts';
export * from './manifest/quality.ts';
export * from './manifest/schema.ts';
export * from './manifest/stats.ts';
export * from './manifest/target.ts';
