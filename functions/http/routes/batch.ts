/** The batch job API's routes. */
import {
  batchCompleteRequestSchema,
  batchCreateRequestSchema,
  batchJobListSchema,
  batchJobSchema,
  batchResultsSchema,
  batchUploadTicketSchema,
} from '#core/protocol/schemas.ts';
import { op } from '../operation.ts';

export const BATCH_ROUTES = [
  op({
    id: 'createBatchJob',
    method: 'POST',
    path: '/v1/batch',
    function: 'batch',
    tag: 'batch',
    summary: 'Start a batch job: pins the model version and returns where to upload the file.',
    request: batchCreateRequestSchema,
    response: batchUploadTicketSchema,
  }),
  op({
    id: 'listBatchJobs',
    method: 'GET',
    path: '/v1/batch',
    function: 'batch',
    tag: 'batch',
    summary: 'The 20 newest batch jobs, newest first.',
    response: batchJobListSchema,
  }),
  op({
    id: 'getBatchJob',
    method: 'GET',
    path: '/v1/batch/{jobId}',
    function: 'batch',
    tag: 'batch',
    summary: 'Batch job status: progress while running, the summary once finished.',
    response: batchJobSchema,
  }),
  op({
    id: 'getBatchResults',
    method: 'GET',
    path: '/v1/batch/{jobId}/results',
    function: 'batch',
    tag: 'batch',
    summary: 'Presigned download URLs of the result parts and error files.',
    response: batchResultsSchema,
  }),
  op({
    id: 'completeBatchUpload',
    method: 'POST',
    path: '/v1/batch/{jobId}/complete',
    function: 'batch',
    tag: 'batch',
    summary: 'Finish a multipart upload (files over 8 MiB) with the ETags of its parts.',
    request: batchCompleteRequestSchema,
    response: batchJobSchema,
  }),
] as const;
