import { completeUpload, createUpload, jobResults, jobStatus, listJobs } from '#core/batch/service.ts';
import type { BatchCompleteRequest, BatchCreateRequest } from '#core/protocol.ts';
import { batchDeps } from '#shared/batch.ts';
import { loadConfig } from '#shared/config.ts';
import { type ApiRequest, type ApiResponse, createApiHandler } from '#shared/http.ts';

const config = loadConfig();
const deps = await batchDeps(config, { scoring: false });
const ttl = config.BATCH_URL_TTL_SECONDS;

/** The batch job API: start a job (presigned upload), follow it, fetch its results. */
async function batch(req: ApiRequest): Promise<ApiResponse> {
  const jobId = req.params.jobId ?? '';
  switch (req.operation.id) {
    case 'createBatchJob': {
      const body = req.body as BatchCreateRequest;
      req.scope.model = body.model;
      const ticket = await createUpload(deps, deps.s3, body, ttl);
      return {
        status: 201,
        body: {
          ...ticket,
          statusUrl: `/v1/batch/${ticket.jobId}`,
          ...('multipart' in ticket ? { completeUrl: `/v1/batch/${ticket.jobId}/complete` } : {}),
        },
      };
    }
    case 'listBatchJobs':
      return { body: { jobs: await listJobs(deps) } };
    case 'getBatchJob':
      return { body: await jobStatus(deps, jobId) };
    case 'getBatchResults': {
      const files = await jobResults(deps, deps.s3, jobId, ttl);
      return {
        body: {
          jobId,
          expiresAt: new Date(Date.now() + ttl * 1000).toISOString(),
          ...files,
        },
      };
    }
    case 'completeBatchUpload':
      await completeUpload(deps, deps.s3, jobId, req.body as BatchCompleteRequest);
      return { body: await jobStatus(deps, jobId) };
    default:
      throw new Error(`batch handler has no case for ${req.operation.id}`);
  }
}

export const handler = createApiHandler('batch', batch, {
  maxBodyBytes: config.MAX_BODY_BYTES,
  metrics: false,
});
