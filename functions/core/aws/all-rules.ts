/**
 * Every AWS rule infera relies on, each once: the functions' own (rules.ts, with SageMaker's) and the
 * model store's (store-rules.ts). What docs/deploy.md's table lists (npm run docs:rules).
 */
import { AWS_RULES } from './rules.ts';
import { STORE_RULES } from './store-rules.ts';

export const ALL_AWS_RULES = { ...AWS_RULES, ...STORE_RULES };
