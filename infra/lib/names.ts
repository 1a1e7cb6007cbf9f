/**
 * The names a deployed stack gives things and the CLI looks for. One module, free of CDK imports,
 * so `infera rollback` and the stack cannot disagree.
 */

import { createHash } from 'node:crypto';
import { SHARED_MODELS } from './layout.ts';

/** Lambda's limit on a function name. */
const MAX_FUNCTION_NAME = 64;

/** The Lambda function of a model: `<stack>-<model>`, or undefined when that would be too long. */
export function modelFunctionName(stackName: string, model: string): string | undefined {
  const name = `${stackName}-${model}`.replace(/[^A-Za-z0-9_-]/g, '-');
  return name.length <= MAX_FUNCTION_NAME ? name : undefined;
}

/** A Lambda version's description: which model version it serves as live, and which it holds. */
export function versionDescription(model: string, live: string, versions: readonly string[]): string {
  return `model ${model} live=${live} versions=${versions.join(',')}`;
}

/** The live model version a version description records (see versionDescription). */
export function liveFromDescription(description: string): string | undefined {
  return /\blive=(\S+)/.exec(description)?.[1];
}

/** The function that serves every model of a stack laid out with one shared model function. */
export function sharedModelsFunctionName(stackName: string): string | undefined {
  return modelFunctionName(stackName, SHARED_MODELS);
}

/**
 * A shared model function's version description: how many models it holds, and a fingerprint of
 * which version of each is live, so two Lambda versions that serve the same releases compare equal.
 */
export function sharedVersionDescription(live: ReadonlyMap<string, string>): string {
  const text = [...live].map(([m, v]) => `${m}=${v}`).join(',');
  return `shared models=${live.size} livemap=${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** Whether a Lambda version description is a shared model function's (see sharedVersionDescription). */
export const isSharedDescription = (description: string) => description.startsWith('shared models=');
