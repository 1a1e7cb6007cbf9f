import * as z from 'zod';

/** Wire schemas of the batch job API: starting a job, its upload, its status and its results. */

export const batchCreateRequestSchema = z
  .strictObject({
    model: z.string().min(1).describe('Model name.'),
    version: z.string().min(1).optional().describe('Version number or alias, pinned now; default live.'),
    filename: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe('File name; its extension (.csv, .jsonl, .png, .jpg) sets the format.'),
    bytes: z
      .number()
      .int()
      .min(0)
      .max(
        5 * 1024 ** 4,
        'must be at most 5 TiB (5497558138880 bytes), the largest S3 object; split the file',
      )
      .optional()
      .describe(
        'File size, up to 5 TiB. Above 8 MiB the answer holds presigned multipart URLs (at most 1,000 parts) instead of one PUT URL.',
      ),
  })
  .meta({ id: 'BatchCreateRequest' });
export type BatchCreateRequest = z.infer<typeof batchCreateRequestSchema>;

export const batchUploadTicketSchema = z
  .object({
    jobId: z.string(),
    model: z.string(),
    version: z.string(),
    bucket: z.string(),
    key: z.string(),
    expiresAt: z.string(),
    upload: z
      .object({ method: z.literal('PUT'), url: z.string() })
      .optional()
      .describe('PUT the whole file to this URL.'),
    multipart: z
      .object({
        uploadId: z.string(),
        partBytes: z.number().int(),
        parts: z.array(z.object({ partNumber: z.number().int(), url: z.string() })),
      })
      .optional()
      .describe('PUT each part (partBytes each, the last one shorter), then POST the ETags to completeUrl.'),
    statusUrl: z.string(),
    completeUrl: z.string().optional(),
  })
  .meta({ id: 'BatchUploadTicket' });

export const batchCompleteRequestSchema = z
  .strictObject({
    key: z.string().min(1),
    uploadId: z.string().min(1),
    parts: z
      .array(z.strictObject({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().min(1) }))
      .min(1),
  })
  .meta({ id: 'BatchCompleteRequest' });
export type BatchCompleteRequest = z.infer<typeof batchCompleteRequestSchema>;

const progressSchema = z.object({
  chunksDone: z.number().int(),
  chunksFailed: z.number().int(),
  rowsRead: z.number().int(),
  rowsScored: z.number().int(),
  rowsRejected: z.number().int(),
});

export const batchJobSchema = z
  .object({
    jobId: z.string(),
    status: z.enum(['awaiting-upload', 'splitting', 'running', 'succeeded', 'partial', 'failed']),
    model: z.string(),
    version: z.string().optional(),
    createdAt: z.string(),
    owner: z
      .string()
      .optional()
      .describe('Who started the job: their ARN when the API saw it, else their principal id.'),
    source: z.record(z.string(), z.unknown()).optional(),
    format: z.string().optional(),
    ignoredColumns: z.array(z.string()).optional().describe('CSV columns that are not model features.'),
    rowsTotal: z.number().int().optional(),
    chunks: z.number().int().optional(),
    progress: progressSchema.optional(),
    summary: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('The _SUCCESS.json or _FAILED.json summary, once the job has finished.'),
    error: z.string().optional(),
  })
  .meta({ id: 'BatchJob' });

export const batchJobListSchema = z.object({ jobs: z.array(batchJobSchema) }).meta({ id: 'BatchJobList' });

const resultFileSchema = z.object({
  chunk: z.number().int(),
  key: z.string(),
  bytes: z.number().int(),
  url: z.string(),
});
export const batchResultsSchema = z
  .object({
    jobId: z.string(),
    status: z.string(),
    expiresAt: z.string(),
    parts: z
      .array(resultFileSchema)
      .describe('Results, in chunk order; CSV parts each start with the header.'),
    errors: z.array(resultFileSchema).describe('Rejected rows as JSON Lines: row, line, error, id, raw.'),
  })
  .meta({ id: 'BatchResults' });
