/**
 * Every AWS rule infera relies on, each once: the functions' own (rules.ts, with SageMaker's), the
 * model store's (store-rules.ts) and labelled quality's (quality-rules.ts). What docs/deploy.md's table lists (npm run docs:rules).
 */

import { QUALITY_RULES } from './quality-rules.ts';
import { AWS_RULES } from './rules.ts';
import { STORE_RULES } from './store-rules.ts';

export const ALL_AWS_RULES = { ...AWS_RULES, ...STORE_RULES, ...QUALITY_RULES };
