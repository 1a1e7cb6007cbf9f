/**
 * Everything made once per model version and process: the ONNX session (checked against the
 * manifest), a tabular model's instance schema, a text model's tokenizer and a processor.ts. The
 * model's bytes and its processor.ts come from the repository, the one disk reader core declares.
 */
import { join } from 'node:path';
import type * as z from 'zod';
import { ModelPackageError } from '../errors.ts';
import { instanceSchema } from '../features.ts';
import { relPath as rel } from '../paths.ts';
import type { EngineOptions, InferenceEngine, LoadedModel } from '../ports.ts';
import { asProcessor, type Processor } from '../processor.ts';
import type { ModelVersion } from '../registry.ts';
import { importProcessor, readModelBytes } from '../repository.ts';
import { checkSignature } from '../seam/signature.ts';
import { loadTokenizer, type TextInput } from '../text/load.ts';
import type { Prepared } from './types.ts';

export class PreparedVersions {
  readonly #engine: InferenceEngine;
  readonly #options: EngineOptions;
  readonly #wrap: ((model: LoadedModel, mv: ModelVersion) => LoadedModel) | undefined;
  readonly #prepared = new Map<ModelVersion, Promise<Prepared>>();
  readonly #schemas = new Map<ModelVersion, z.ZodType<Record<string, unknown>>>();
  readonly #tokenizers = new Map<ModelVersion, Promise<TextInput>>();
  readonly #processors = new Map<ModelVersion, Promise<Processor>>();

  constructor(
    engine: InferenceEngine,
    options: EngineOptions,
    wrap?: (model: LoadedModel, mv: ModelVersion) => LoadedModel,
  ) {
    this.#engine = engine;
    this.#options = options;
    this.#wrap = wrap;
  }

  /**
   * Loads every given version and checks each graph against its manifest, so a mismatch fails
   * start-up (naming the file and the fix) instead of a request.
   */
  async warmup(versions: readonly ModelVersion[]): Promise<void> {
    const problems: string[] = [];
    for (const mv of versions) {
      try {
        await this.session(mv);
      } catch (err) {
        this.#prepared.delete(mv);
        if (err instanceof ModelPackageError) problems.push(...err.details);
        else problems.push(`${rel(mv.modelPath)}: ONNX Runtime could not load it: ${(err as Error).message}`);
      }
    }
    if (problems.length > 0) throw new ModelPackageError(problems);
  }

  /** Whether the version's session has been asked for (it may still be loading). */
  has(mv: ModelVersion): boolean {
    return this.#prepared.has(mv);
  }

  /** The version's session, loaded and checked once. */
  session(mv: ModelVersion): Promise<Prepared> {
    let p = this.#prepared.get(mv);
    if (!p) {
      p = this.#load(mv);
      this.#prepared.set(mv, p);
    }
    return p;
  }

  async #load(mv: ModelVersion): Promise<Prepared> {
    const bytes = await readModelBytes(mv);
    const loaded = await this.#engine.load(bytes, this.#options);
    const problems = checkSignature(mv, loaded);
    if (problems.length > 0) {
      await loaded.release();
      throw new ModelPackageError(problems);
    }
    try {
      await this.text(mv);
      await this.processor(mv);
    } catch (err) {
      await loaded.release();
      throw err;
    }
    const model = this.#wrap ? this.#wrap(loaded, mv) : loaded;
    const schema = this.schema(mv);
    return schema ? { mv, model, schema } : { mv, model };
  }

  /** The instance schema of a tabular version, built once. */
  schema(mv: ModelVersion): z.ZodType<Record<string, unknown>> | undefined {
    const m = mv.manifest;
    if (m.inputs.kind !== 'tabular') return undefined;
    let s = this.#schemas.get(mv);
    if (!s) {
      s = instanceSchema(m.inputs.features);
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
