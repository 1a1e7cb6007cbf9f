import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { EngineOptions, HostTensor, InferenceEngine, LoadedModel, TensorType } from '#core/ports.ts';

const SUPPORTED: ReadonlySet<string> = new Set<TensorType>(['float32', 'float64', 'int32', 'int64', 'bool']);

function ortVersion(): string {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return ort.env.versions.common ?? 'unknown';
  }
}

/** The onnxruntime-node implementation of the InferenceEngine port (CPU execution provider). */
export class OnnxRuntimeEngine implements InferenceEngine {
  readonly name = 'onnxruntime';
  readonly version = ortVersion();

  async load(model: Uint8Array, options: EngineOptions): Promise<LoadedModel> {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      // Spinning threads burn the fractional vCPU Lambda gives small functions; yield instead.
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    });
    return new OrtModel(session);
  }
}

class OrtModel implements LoadedModel {
  readonly #session: ort.InferenceSession;
  readonly inputs;
  readonly outputs;

  constructor(session: ort.InferenceSession) {
    this.#session = session;
    this.inputs = session.inputMetadata.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name },
    );
    this.outputs = session.outputMetadata.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name },
    );
  }

  async run(
    feeds: Readonly<Record<string, HostTensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    }
    const result = outputNames
      ? await this.#session.run(ortFeeds, outputNames)
      : await this.#session.run(ortFeeds);
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(result)) {
      const t = value as ort.Tensor;
      if (!SUPPORTED.has(t.type)) {
        throw new Error(`Output '${name}' has element type ${t.type}, which infera cannot return yet.`);
      }
      out[name] = { type: t.type as TensorType, data: t.data as HostTensor['data'], dims: t.dims };
    }
    return out;
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}
