/**
 * The API's wire schemas, in the order /openapi.json lists them: they are registered as their
 * modules load, and this module loads them in document order.
 */
export * from './api-schemas.ts';
export * from './batch-schemas.ts';
export * from './triton-schemas.ts';
