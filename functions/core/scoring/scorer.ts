/**
 * The scoring core: one session per model version per process, and one pipeline for every way in.
 * decode (protocol/decode-v1.ts, protocol/decode-v2.ts) → validate and build feeds (feeds.ts) → one
 * session.run and post-processing (in-process.ts) → encode (protocol/encode.ts) in the caller's
 * protocol, or the same request sent to the model's SageMaker endpoint (endpoint/path.ts). Knows
 * nothing of HTTP or AWS; handlers adapt it.
 */

import { EndpointPath } from '../endpoint/path.ts';
import type { RemoteEndpoints } from '../endpoint/remote.ts';
import { loadImageCodecs } from '../image/codecs.ts';
import type { ModelRegistry, ModelVersion } from '../model/registry.ts';
import type { EngineOptions, InferenceEngine } from '../ports.ts';
import type { MatrixScores } from '../protocol/class-scores.ts';
import { type InferenceRequest, jsonResponse } from '../protocol/codec.ts';
import type { InferRequest, InferResponse, Prediction, V2ModelMetadata } from '../protocol/schemas.ts';
import { tabularRows } from './feeds.ts';
import { runInProcess, scoreMatrix } from './in-process.ts';
import { metadataV2 } from './metadata.ts';
import { PreparedVersions } from './prepared.ts';
import { type Readiness, type ServerReadiness, serverReadiness, versionReadiness } from './readiness.ts';
import type { Prepared, ScoreOptions, ScoreResult, ScorerOptions } from './types.ts';

export class Scorer {
  readonly registry: ModelRegistry;
  readonly engine: InferenceEngine;
  readonly remote: RemoteEndpoints | undefined;
  readonly #serveAll: boolean;
  readonly #versions: PreparedVersions;
  readonly #endpoint: EndpointPath;

  constructor(
    registry: ModelRegistry,
    engine: InferenceEngine,
    options: EngineOptions,
    extra: ScorerOptions = {},
  ) {
    this.registry = registry;
    this.engine = engine;
    this.remote = extra.remote;
    this.#serveAll = extra.serveAll === true;
    this.#versions = new PreparedVersions(engine, options, extra.wrap, extra.sessions, extra.images);
    this.#endpoint = new EndpointPath(registry, this.#versions, this, {
      remote: extra.remote,
      ...(extra.remoteMaxRows !== undefined ? { maxRows: extra.remoteMaxRows } : {}),
      ...(extra.remoteMaxBytes !== undefined ? { maxBytes: extra.remoteMaxBytes } : {}),
    });
  }

  /** Whether this process runs the version itself, rather than calling its endpoint. */
  inProcess(mv: ModelVersion): boolean {
    return this.#serveAll || routedInProcess(mv);
  }

  /**
   * Loads every locally served version and checks each graph against its manifest, so a mismatch
   * fails start-up (naming the file and the fix) instead of a request.
   */
  warmup(): Promise<void> {
    return this.#versions.warmup(this.registry.allVersions().filter((mv) => this.inProcess(mv)));
  }

  /**
   * Loads the given versions served here and checks each graph against its manifest, now, even
   * with lazy sessions: what a model folder added to a running npm start must pass to serve.
   */
  check(versions: readonly ModelVersion[]): Promise<void> {
    return this.#versions.check(versions.filter((mv) => this.inProcess(mv)));
  }

  /**
   * True once every locally served version's graph has been checked (it may since have been
   * released by the session cache, and loads again on demand). With lazy sessions, at once.
   */
  get ready(): boolean {
    return (
      this.#versions.lazy ||
      this.registry.allVersions().every((mv) => !this.inProcess(mv) || this.#versions.checked(mv))
    );
  }

  /** The session cache: sessions held, their estimated bytes, the budget and the releases. */
  sessionStats() {
    return this.#versions.stats();
  }

  /** Runs `work` with the version's session, loaded and checked against its manifest on first use. */
  withSession<T>(mv: ModelVersion, work: (p: Prepared) => Promise<T>): Promise<T> {
    return this.#versions.use(mv, work);
  }

  /**
   * Every transport's entry: scores a decoded request where its version runs (here, its
   * endpoint, or its fallback) and says who answered.
   */
  async run(mv: ModelVersion, request: InferenceRequest, opts: ScoreOptions = {}): Promise<ScoreResult> {
    await codecsFor(mv);
    if (!this.inProcess(mv)) return this.#endpoint.run(mv, request, opts);
    return this.#versions.use(mv, (p) => runInProcess(this.#versions, p, request, opts));
  }

  /** v1 instances in, one prediction per instance out: run() for callers that hold instances. */
  async predict(
    mv: ModelVersion,
    instances: readonly unknown[],
    opts: ScoreOptions = {},
  ): Promise<Prediction[]> {
    return [...(await this.run(mv, { protocol: 'v1', instances }, opts)).predictions];
  }

  /** A v2 request in, its answer out with every output as JSON data: run() for callers that hold one. */
  async infer(mv: ModelVersion, request: InferRequest, opts: ScoreOptions = {}): Promise<InferResponse> {
    const r = await this.run(mv, { protocol: 'v2', request }, opts);
    if (!r.response) throw new Error(`scoring a v2 request to ${mv.name}@${mv.version} gave no v2 answer`);
    return jsonResponse(r.response);
  }

  /**
   * Scores a tabular version's rows given as its input matrix, already checked (the batch worker's
   * fast path); undefined when the version cannot take one: it runs on an endpoint, or a
   * processor.ts works on its instances.
   */
  matrixScorer(mv: ModelVersion): ((x: Float32Array, rows: number) => Promise<MatrixScores>) | undefined {
    if (!this.inProcess(mv) || mv.manifest.processor || mv.manifest.inputs.kind !== 'tabular')
      return undefined;
    return (x, rows) => this.#versions.use(mv, async (p) => scoreMatrix(p, x, rows));
  }

  /** Whether this process can answer for a version now, and why not. */
  readiness(mv: ModelVersion): Readiness {
    return versionReadiness(this, mv);
  }

  /** Server readiness: the live versions that cannot answer, and why. */
  serverReadiness(): ServerReadiness {
    return serverReadiness(this);
  }

  /** A tabular v2 request's rows as v1 instances, unvalidated (see feeds.ts). */
  tabularRows(
    mv: ModelVersion,
    req: InferRequest,
    opts: ScoreOptions = {},
  ): Record<string, unknown>[] | undefined {
    return tabularRows(mv, req, opts);
  }

  /** v2 model metadata: the tensors a client sends and gets back. */
  metadataV2(mv: ModelVersion): V2ModelMetadata {
    return metadataV2(
      mv,
      this.registry.get(mv.name).versions.map((v) => v.version),
    );
  }
}

/** Whether the version's route keeps it in-process (as opposed to a SageMaker endpoint). */
export function routedInProcess(mv: ModelVersion): boolean {
  return mv.placement.target === 'lambda';
}

/** Loads the image decoders before a request to a model with an image input (once per process). */
function codecsFor(mv: ModelVersion): Promise<unknown> | undefined {
  const m = mv.manifest;
  return m.inputs.kind === 'tensors' && m.inputs.tensors.some((t) => t.image) ? loadImageCodecs() : undefined;
}
