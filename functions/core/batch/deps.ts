import type { ModelRegistry, ModelVersion } from '../model/registry.ts';
import type { MessageQueue, ObjectStore } from '../ports.ts';
import type { MatrixScores } from '../protocol/class-scores.ts';
import type { Prediction } from '../protocol/schemas.ts';
import type { Owner } from './owner.ts';

export interface BatchSettings {
  readonly inputBucket: string;
  readonly outputBucket: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly chunkRows: number;
  readonly chunkBytes: number;
  /** Attempts per chunk before it is dead-lettered with its reason. */
  readonly maxAttempts: number;
}

export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** What every batch step is given: storage, the queue, the registry, settings and a log. */
export interface BatchDeps {
  readonly store: ObjectStore;
  readonly queue: MessageQueue;
  readonly registry: ModelRegistry;
  readonly settings: BatchSettings;
  readonly log: Log;
  readonly now?: () => Date;
}

/** What the score step needs beyond the others: a scorer, its fast path, and a row counter. */
export interface ScoreDeps extends BatchDeps {
  /** Scores validated instances of a model version (the scoring core, or a remote endpoint). */
  readonly predict: (
    mv: ModelVersion,
    instances: readonly Record<string, unknown>[],
  ) => Promise<readonly Prediction[]>;
  /**
   * For a tabular version scored in this process: scores rows given as its input matrix, already
   * checked by the worker's fast decoder. Undefined (or answering undefined) keeps `predict`.
   */
  readonly matrixScorer?: (
    mv: ModelVersion,
  ) => ((x: Float32Array, rows: number) => Promise<MatrixScores>) | undefined;
  /**
   * Given a chunk's scored rows before its marker is written (the quality log); a failure fails
   * the chunk, which is retried, and the retry writes under the same name.
   */
  readonly onScoredRows?: (
    mv: ModelVersion,
    chunk: { readonly jobId: string; readonly chunk: number },
    rows: () => readonly { readonly row: number; readonly id?: string; readonly p: Prediction }[],
  ) => Promise<void>;
  /** Told each chunk's row counts once its outputs are written: the BatchRows metrics. */
  readonly onChunkScored?: (counts: { readonly scored: number; readonly rejected: number }) => void;
}

/** An uploaded object, as an S3 event names it. */
export interface Upload {
  readonly bucket: string;
  readonly key: string;
  readonly etag?: string;
  readonly sequencer?: string;
  readonly eventTime?: string;
  /** Who uploaded it, as the S3 event names them: the job's owner when no API call started it. */
  readonly uploader?: Owner;
}

export const JSON_TYPE = 'application/json';
export const now = (d: BatchDeps) => (d.now ? d.now() : new Date()).toISOString();
