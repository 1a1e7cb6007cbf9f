/**
 * Everything made once per model version and process: the ONNX session (checked against the
 * manifest), a tabular model's instance schema, a text model's tokenizer and a processor.ts. The
 * model's bytes and its processor.ts come from the repository, the one disk reader core declares.
 *
 * Sessions live in a memory-bounded LRU: a function serving hundreds of models keeps the recently
 * used ones loaded, and loads the rest on demand. A session is only released when no call is using
 * it (`use` leases it), so eviction never pulls a session out from under a running request.
 */
import { join } from 'node:path';
import type * as z from 'zod';
import { ModelPackageError, messageOf } from '../errors.ts';
import { inlineImageWork } from '../image/work.ts';
import { relPath as rel } from '../model/paths.ts';
import type { ModelVersion } from '../model/registry.ts';
import { importProcessor, readModelBytes } from '../model/repository/files.ts';
import type { EngineOptions, ImageWork, InferenceEngine, LoadedModel } from '../ports.ts';
import { asProcessor, type Processor } from '../processor.ts';
import { checkSignature } from '../protocol/signature.ts';
import { instanceSchema } from '../tensor/features.ts';
import { loadTokenizer, type TextInput } from '../text/load.ts';
import type { Prepared, SessionCacheOptions } from './types.ts';

/**
 * What a loaded session is assumed to hold beyond its model bytes: ONNX Runtime's graph copy and
 * arenas. Measured by `npm run bench` (B11): about 2x the model file plus a small fixed part.
 */
export const SESSION_OVERHEAD_BYTES = 512 * 1024;
export const sessionBytes = (modelBytes: number) => 2 * modelBytes + SESSION_OVERHEAD_BYTES;

interface Entry {
  readonly prepared: Promise<Prepared>;
  /** Estimated memory, known once loaded (0 until then). */
  bytes: number;
  /** Calls using the session now: it is not released while any is. */
  inFlight: number;
}

export class PreparedVersions {
  readonly #engine: InferenceEngine;
  readonly #options: EngineOptions;
  readonly #wrap: ((model: LoadedModel, mv: ModelVersion) => LoadedModel) | undefined;
  /** In use order, least recently used first. */
  readonly #prepared = new Map<ModelVersion, Entry>();
  /** Versions whose graph has been loaded and checked against the manifest at least once. */
  readonly #checked = new Set<ModelVersion>();
  readonly #maxBytes: number;
  readonly #lazy: boolean;
  #bytes = 0;
  #evictions = 0;
  readonly #schemas = new Map<ModelVersion, z.ZodType<Record<string, unknown>>>();
  readonly #tokenizers = new Map<ModelVersion, Promise<TextInput>>();
  readonly #processors = new Map<ModelVersion, Promise<Processor>>();

  /** Where image files are decoded: here, or in a pool of worker threads. */
  readonly images: ImageWork;

  constructor(
    engine: InferenceEngine,
    options: EngineOptions,
    wrap?: (model: LoadedModel, mv: ModelVersion) => LoadedModel,
    cache: SessionCacheOptions = {},
    images: ImageWork = inlineImageWork,
  ) {
    this.images = images;
    this.#engine = engine;
    this.#options = options;
    this.#wrap = wrap;
    this.#maxBytes = cache.maxBytes ?? Number.POSITIVE_INFINITY;
    this.#lazy = cache.lazy === true;
  }

  /** Whether sessions load on first use rather than at start. */
  get lazy(): boolean {
    return this.#lazy;
  }

  /**
   * Loads every given version and checks each graph against its manifest, so a mismatch fails
   * start-up (naming the file and the fix) instead of a request. Versions beyond the memory budget
   * are released again once checked. Lazy: nothing is loaded now (the pre-traffic hook checks a
   * deployed function's graphs before it gets traffic).
   */
  async warmup(versions: readonly ModelVersion[]): Promise<void> {
    if (this.#lazy) return;
    await this.check(versions);
  }

  /** Loads each version and checks its graph against its manifest; the problems of all, at once. */
  async check(versions: readonly ModelVersion[]): Promise<void> {
    const problems: string[] = [];
    for (const mv of versions) {
      try {
        await this.use(mv, async () => undefined);
      } catch (err) {
        if (err instanceof ModelPackageError) problems.push(...err.details);
        else problems.push(`${rel(mv.modelPath)}: ONNX Runtime could not load it: ${messageOf(err)}`);
      }
    }
    if (problems.length > 0) throw new ModelPackageError(problems);
  }

  /** Whether the version's graph has been loaded and checked against its manifest. */
  checked(mv: ModelVersion): boolean {
    return this.#checked.has(mv);
  }

  /** Sessions held, their estimated bytes, the budget and how many were released to keep to it. */
  stats(): { sessions: number; bytes: number; maxBytes: number; evictions: number } {
    return {
      sessions: this.#prepared.size,
      bytes: this.#bytes,
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
    };
  }

  /**
   * Runs `work` with the version's session, loaded (and checked) on first use. The session is
   * leased for the call: the LRU releases only sessions no call is using, after the call ends.
   */
  async use<T>(mv: ModelVersion, work: (p: Prepared) => Promise<T>): Promise<T> {
    let entry = this.#prepared.get(mv);
    if (entry) {
      // Most recently used goes last.
      this.#prepared.delete(mv);
      this.#prepared.set(mv, entry);
    } else {
      const e: Entry = { prepared: this.#load(mv), bytes: 0, inFlight: 0 };
      entry = e;
      this.#prepared.set(mv, e);
      e.prepared.then(
        (p) => {
          if (this.#prepared.get(mv) !== e) return;
          e.bytes = sessionBytes(p.modelBytes);
          this.#bytes += e.bytes;
          this.#checked.add(mv);
        },
        () => {
          if (this.#prepared.get(mv) === e) this.#prepared.delete(mv);
        },
      );
    }
    entry.inFlight++;
    try {
      return await work(await entry.prepared);
    } finally {
      entry.inFlight--;
      this.#evict();
    }
  }

  /** Releases the least recently used idle sessions while over the budget; the newest always stays. */
  #evict(): void {
    if (this.#bytes <= this.#maxBytes) return;
    const last = [...this.#prepared.keys()].at(-1);
    for (const [mv, e] of this.#prepared) {
      if (this.#bytes <= this.#maxBytes) break;
      if (mv === last || e.inFlight > 0 || e.bytes === 0) continue;
      this.#prepared.delete(mv);
      this.#bytes -= e.bytes;
      this.#evictions++;
      void e.prepared.then((p) => p.model.release()).catch(() => undefined);
    }
  }

  async #load(mv: ModelVersion): Promise<Prepared> {
    const bytes = await readModelBytes(mv);
    const loaded = await this.#engine.load(bytes, this.#options);
    const problems = checkSignature(mv, loaded);
    if (problems.length > 0) {
      await loaded.release();
      throw new ModelPackageError(problems);
    }
    let text: TextInput | undefined;
    let processor: Processor | undefined;
    try {
      text = await this.text(mv);
      processor = await this.processor(mv);
    } catch (err) {
      await loaded.release();
      throw err;
    }
    const model = this.#wrap ? this.#wrap(loaded, mv) : loaded;
    return { mv, model, schema: this.schema(mv), modelBytes: bytes.byteLength, text, processor };
  }

  /** The instance schema of a tabular version, built once. */
  schema(mv: ModelVersion): z.ZodType<Record<string, unknown>> | undefined {
    const m = mv.manifest;
    if (m.inputs.kind !== 'tabular') return undefined;
    let s = this.#schemas.get(mv);
    if (!s) {
      s = instanceSchema(m.inputs.features, m.quality?.idField);
      this.#schemas.set(mv, s);
    }
    return s;
  }

  /** The tokenizer of a text model, loaded once (also for endpoint models: requests are checked here). */
  text(mv: ModelVersion): Promise<TextInput | undefined> {
    const m = mv.manifest;
    if (m.inputs.kind !== 'tensors' || !m.inputs.text) return Promise.resolve(undefined);
    let p = this.#tokenizers.get(mv);
    if (!p) {
      p = loadTokenizer(mv, m.inputs.text);
      this.#tokenizers.set(mv, p);
      p.catch(() => this.#tokenizers.delete(mv));
    }
    return p;
  }

  /** A version's processor.ts, imported once. */
  processor(mv: ModelVersion): Promise<Processor | undefined> {
    const spec = mv.manifest.processor;
    if (!spec) return Promise.resolve(undefined);
    let p = this.#processors.get(mv);
    if (!p) {
      p = importProcessor(mv, spec.file).then((mod) => asProcessor(mod, rel(join(mv.dir, spec.file))));
      this.#processors.set(mv, p);
      p.catch(() => this.#processors.delete(mv));
    }
    return p;
  }
}
