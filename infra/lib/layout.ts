/**
 * How the stack lays out its functions: one per model or one shared, what each is called, and the
 * batch functions' sizes. The stacks and `infera cost` read it, so what is priced is what deploys.
 */

/**
 * The most models `infera:modelFunctions=auto` gives a function each; beyond it one shared function
 * serves them all. Each function costs about 33 CloudFormation resources and 8 API routes
 * (`npm run bench`, B11): 10 leave room under the 500 resources per stack for the rest.
 */
export const PER_MODEL_MAX = 10;

/** The `infera:modelFunctions` settings. */
export const MODEL_FUNCTIONS = ['auto', 'per-model', 'shared'] as const;

export type ModelFunctions = (typeof MODEL_FUNCTIONS)[number];

/** What a setting comes to for a given number of models. */
export type ModelLayout = Exclude<ModelFunctions, 'auto'>;

/** What a shared model function is called in its function name and service: <stack>-shared-models. */
export const SHARED_MODELS = 'shared-models';

/** Whether each model gets its own function, or all share one: the setting, or by count for auto. */
export function modelLayout(setting: ModelFunctions, models: number): ModelLayout {
  if (setting !== 'auto') return setting;
  return models > PER_MODEL_MAX ? 'shared' : 'per-model';
}

/** The Powertools service name (the `service` metric dimension) of the function serving a model. */
export function modelServiceName(model: string, layout: ModelLayout): string {
  return `infera-${layout === 'shared' ? SHARED_MODELS : model}`;
}

/**
 * The batch pipeline's functions. The score function takes a new account's Lambda memory ceiling
 * (AWS rule lambda-memory-new-account, functions/core/aws/rules.ts), so the default deploys there.
 */
export const BATCH_MEMORY_MB = { split: 1024, score: 3008 } as const;
