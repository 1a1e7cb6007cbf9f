import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';

/**
 * Tells CodeDeploy how a lifecycle hook ended (PutLifecycleEventHookExecutionStatus): Succeeded
 * lets the deployment go on, Failed rolls it back.
 */
export function codeDeployHookReporter(opts: { endpoint?: string } = {}) {
  const client = new CodeDeployClient(opts.endpoint ? { endpoint: opts.endpoint } : {});
  return async (
    deploymentId: string,
    hookExecutionId: string,
    status: 'Succeeded' | 'Failed',
  ): Promise<void> => {
    await client.send(
      new PutLifecycleEventHookExecutionStatusCommand({
        deploymentId,
        lifecycleEventHookExecutionId: hookExecutionId,
        status,
      }),
    );
  };
}
