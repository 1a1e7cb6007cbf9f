/** The names and enumerations a manifest draws on: model, version and feature names, tasks, datatypes. */

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const VERSION = /^[1-9][0-9]{0,5}$/;
export const FEATURE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const TASKS = [
  'binary-classification',
  'multiclass-classification',
  'regression',
  'embedding',
  'tensor',
] as const;
export type Task = (typeof TASKS)[number];

/** Open Inference Protocol tensor datatypes: every element type onnxruntime-node runs. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'INT8',
  'UINT16',
  'INT16',
  'UINT32',
  'INT32',
  'UINT64',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];
