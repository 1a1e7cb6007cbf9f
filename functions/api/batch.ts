import type { BatchDeps } from '#core/batch/deps.ts';
import { completeUpload, createUpload, jobResults, jobStatus, listJobs } from '#core/batch/jobs-api.ts';
import type { Viewer } from '#core/batch/owner.ts';
import { ForbiddenError } from '#core/errors.ts';
import type { UrlSigner } from '#core/ports.ts';
import { createApiHandler } from '#http/api-handler.ts';
import { type ApiRequest, type Handlers, required } from '#http/request.ts';
import { batchDeps } from '#runtime/batch.ts';
import { loadConfig } from '#runtime/config.ts';

export interface BatchApiOptions {
  /** Lifetime of presigned upload and download URLs, seconds. */
  readonly ttl: number;
  /** Every caller sees every job (BATCH_SHARED_VIEW). */
  readonly sharedView: boolean;
  readonly maxBodyBytes: number;
}

/**
 * Who is asking, from API Gateway's authorizer. A job is its starter's alone unless the
 * deployment shares them all (BATCH_SHARED_VIEW); a caller nobody authenticated gets no jobs.
 */
function viewerOf(req: ApiRequest, sharedView: boolean): Viewer {
  if (req.caller) return { owner: req.caller, shared: sharedView };
  if (sharedView) return { owner: { id: 'anonymous' }, shared: true };
  throw new ForbiddenError(
    'Batch jobs belong to the caller that started them, and this request has no authenticated caller (no IAM or JWT authorizer on the route). Call with SigV4 credentials, or set BATCH_SHARED_VIEW=true (infera:batchSharedView) to share every job with every caller.',
  );
}

/** The batch job API: start a job (presigned upload), follow it, fetch its results. */
export function createBatchApiHandler(deps: BatchDeps & { s3: UrlSigner }, opts: BatchApiOptions) {
  const { ttl } = opts;
  const viewer = (req: ApiRequest) => viewerOf(req, opts.sharedView);
  const jobId = (req: ApiRequest) => req.params.jobId ?? '';
  const handlers: Handlers<'batch'> = {
    createBatchJob: async (req) => {
      const who = viewer(req);
      const body = required(req.body);
      req.scope.model = body.model;
      const ticket = await createUpload(deps, deps.s3, body, who.owner, ttl);
      return {
        status: 201,
        body: {
          ...ticket,
          statusUrl: `/v1/batch/${ticket.jobId}`,
          ...('multipart' in ticket ? { completeUrl: `/v1/batch/${ticket.jobId}/complete` } : {}),
        },
      };
    },
    listBatchJobs: async (req) => ({ body: { jobs: await listJobs(deps, viewer(req)) } }),
    getBatchJob: async (req) => ({ body: await jobStatus(deps, jobId(req), viewer(req)) }),
    getBatchResults: async (req) => {
      const files = await jobResults(deps, deps.s3, jobId(req), viewer(req), ttl);
      return {
        body: { jobId: jobId(req), expiresAt: new Date(Date.now() + ttl * 1000).toISOString(), ...files },
      };
    },
    completeBatchUpload: async (req) => {
      const who = viewer(req);
      await completeUpload(deps, deps.s3, jobId(req), who, required(req.body));
      return { body: await jobStatus(deps, jobId(req), who) };
    },
  };
  return createApiHandler('batch', handlers, { maxBodyBytes: opts.maxBodyBytes, metrics: false });
}

const config = loadConfig();
export const handler = createBatchApiHandler(await batchDeps(config, { scoring: false }), {
  ttl: config.BATCH_URL_TTL_SECONDS,
  sharedView: config.BATCH_SHARED_VIEW,
  maxBodyBytes: config.MAX_BODY_BYTES,
});
