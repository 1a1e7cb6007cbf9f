/**
 * The AWS rules a model's manifest can break by itself, checked when the local platform loads it,
 * as `cdk synth` checks the template (infra/lib/aws-rules-plugin.ts): a model whose route cannot
 * work behind API Gateway is refused at start-up, not at its first slow request.
 */
import type { ModelVersion } from '../model/registry.ts';
import { limitOf } from './rules.ts';

/** Each problem names the model version, the field, the rule and the fix. */
export function apiRuleProblems(versions: readonly ModelVersion[]): string[] {
  const max = limitOf('http-api-integration-timeout');
  const problems: string[] = [];
  for (const mv of versions) {
    const t = mv.manifest.target;
    if (t.type === 'lambda' && t.timeoutSeconds !== undefined && t.timeoutSeconds >= max) {
      problems.push(
        `${mv.name}@${mv.version}: target.timeoutSeconds is ${t.timeoutSeconds}, but API Gateway gives up on a call after ${max} s (AWS rule http-api-integration-timeout), so callers would get an error while the function runs on. Set it to at most ${max - 1} in models/${mv.name}/${mv.version}/model.json; on AWS, a longer-running model can be deployed with -c infera:api=false and called through its function's live alias.`,
      );
    }
  }
  return problems;
}
