import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fieldOf, messageOf } from '#core/errors.ts';
import type { EngineOptions, HostTensor, InferenceEngine, LoadedModel, TensorType } from '#core/ports.ts';
import { hostTensor } from '#core/tensor/host-tensor.ts';

/** The element types infera can hold, and return. */
const SUPPORTED: readonly TensorType[] = [
  'float32',
  'float64',
  'float16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
  'string',
];

/**
 * An engine tensor from a host tensor. FP16 needs care: given the half-precision bits in a
 * Uint16Array, onnxruntime-common 1.30 on Node 24 wraps them in a Float16Array, which the native
 * binding does not recognise as a typed array ("not enough space: expected 6, got 0"). The bits
 * are handed back as the Uint16Array the binding expects; a real FP16 graph tests this.
 */
export function toOrtTensor(t: HostTensor): ort.Tensor {
  const tensor = new ort.Tensor(t.type, t.data, t.dims);
  if (t.type === 'float16' && !(tensor.data instanceof Uint16Array)) {
    // cpuData is the field the binding reads; onnxruntime-common does not type it as settable.
    Reflect.set(tensor, 'cpuData', t.data);
  }
  return tensor;
}

/** A host tensor from an engine output; FP16 comes back as its bits, whatever array ORT used. */
export function fromOrtTensor(name: string, t: ort.Tensor): HostTensor {
  const type = SUPPORTED.find((s) => s === t.type);
  if (!type) throw new Error(`Output '${name}' has element type ${t.type}, which infera cannot return yet.`);
  const d = t.data;
  const data =
    type === 'float16' && ArrayBuffer.isView(d)
      ? new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2)
      : d;
  return hostTensor(type, data, t.dims);
}

function ortVersion(): string {
  try {
    const pkg: unknown = createRequire(import.meta.url)('onnxruntime-node/package.json');
    const version = fieldOf(pkg, 'version');
    return typeof version === 'string' ? version : (ort.env.versions.common ?? 'unknown');
  } catch {
    return ort.env.versions.common ?? 'unknown';
  }
}

export type ProviderChoice = 'auto' | 'cpu' | 'cuda';

/** How many of a graph's nodes ran on each execution provider ("CUDAExecutionProvider": 9). */
export type Placement = Readonly<Record<string, number>>;

/**
 * The nodes per execution provider in an ONNX Runtime profile (its JSON trace): each node's
 * kernel event names the provider that ran it. A CUDA session can still run some nodes on CPU
 * (ops without a CUDA kernel), so this, not the provider asked for, says where the work ran.
 */
export function placementOf(profile: unknown): Placement {
  const nodes = new Map<string, Set<string>>();
  for (const e of Array.isArray(profile) ? profile : []) {
    const provider = fieldOf(fieldOf(e, 'args'), 'provider');
    const name = fieldOf(e, 'name');
    if (fieldOf(e, 'cat') !== 'Node' || typeof provider !== 'string' || typeof name !== 'string') continue;
    const set = nodes.get(provider) ?? new Set<string>();
    set.add(name.replace(/_kernel_time$|_fence_(before|after)$/, ''));
    nodes.set(provider, set);
  }
  return Object.fromEntries([...nodes].map(([p, set]) => [p, set.size]));
}

/** Whether this machine shows an NVIDIA GPU to the process (as a SageMaker GPU instance does). */
export function gpuVisible(visible?: string): boolean {
  if (visible !== undefined && visible !== '' && visible !== 'void' && visible !== 'none') return true;
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

/** The session options every infera session uses; the benchmarks' baselines use them too. */
export function sessionOptions(
  options: EngineOptions,
  provider: 'cpu' | 'cuda' = 'cpu',
  profilePrefix?: string,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: options.interOpThreads,
    // Spinning threads burn the fractional vCPU Lambda gives small functions; yield instead.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/**
 * The onnxruntime-node implementation of the InferenceEngine port. Lambda uses the CPU provider;
 * the serving container asks for CUDA when a GPU is visible and falls back to CPU (and says so)
 * when this build of ONNX Runtime cannot use it, unless it was told `cuda`: then it fails.
 * With `reportPlacement`, each session profiles its first run and reports where its nodes ran.
 */
export class OnnxRuntimeEngine implements InferenceEngine {
  readonly name = 'onnxruntime';
  readonly version = ortVersion();
  readonly #choice: ProviderChoice;
  readonly #log: (message: string) => void;
  readonly #reportPlacement: ((placement: Placement) => void) | undefined;
  readonly #visibleDevices: string | undefined;
  /** The provider the last session was created with. */
  provider: 'cpu' | 'cuda' = 'cpu';
  /** Where the last session's first run ran its nodes; unset until a run with reportPlacement. */
  placement: Placement | undefined;

  constructor(
    opts: {
      providers?: ProviderChoice;
      log?: (message: string) => void;
      /** Profile each session's first run and call this with its placement. */
      reportPlacement?: (placement: Placement) => void;
      /** NVIDIA_VISIBLE_DEVICES, as the NVIDIA container runtime sets it. */
      visibleDevices?: string | undefined;
    } = {},
  ) {
    this.#choice = opts.providers ?? 'cpu';
    this.#log = opts.log ?? (() => {});
    this.#reportPlacement = opts.reportPlacement;
    this.#visibleDevices = opts.visibleDevices;
  }

  async load(model: Uint8Array, options: EngineOptions): Promise<LoadedModel> {
    const wantCuda = this.#choice === 'cuda' || (this.#choice === 'auto' && gpuVisible(this.#visibleDevices));
    if (wantCuda) {
      try {
        const m = await this.#create(model, options, 'cuda');
        this.provider = 'cuda';
        return m;
      } catch (err) {
        if (this.#choice === 'cuda') {
          const gpu = gpuVisible(this.#visibleDevices)
            ? 'a GPU is visible'
            : 'no GPU is visible (no /dev/nvidia0, NVIDIA_VISIBLE_DEVICES unset)';
          throw new Error(
            `INFERA_EXECUTION_PROVIDER=cuda, and it will not serve on CPU, but ONNX Runtime could not create a CUDA session (${gpu}): ${messageOf(err)}. Run the cuda image (functions/container/Dockerfile --target cuda, with onnxruntime-node's CUDA 12 binaries, CUDA 12 and cuDNN 9) on a GPU instance (ml.g*, ml.p*), or set INFERA_EXECUTION_PROVIDER=auto to allow CPU.`,
          );
        }
        this.#log(`CUDA is visible but ONNX Runtime could not use it (${messageOf(err)}); using CPU`);
      }
    }
    this.provider = 'cpu';
    return this.#create(model, options, 'cpu');
  }

  async #create(model: Uint8Array, options: EngineOptions, provider: 'cpu' | 'cuda'): Promise<LoadedModel> {
    if (!this.#reportPlacement) {
      return new OrtModel(await ort.InferenceSession.create(model, sessionOptions(options, provider)));
    }
    const report = this.#reportPlacement;
    const dir = mkdtempSync(join(tmpdir(), 'infera-placement-'));
    try {
      const session = await ort.InferenceSession.create(
        model,
        sessionOptions(options, provider, join(dir, 'profile')),
      );
      return new OrtModel(session, {
        dir,
        done: (placement) => {
          this.placement = placement;
          report(placement);
        },
      });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

/** Ends a session's profile after its first run and reads the placement from it. */
function endProfile(session: ort.InferenceSession, dir: string): Placement {
  try {
    session.endProfiling();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    return file ? placementOf(JSON.parse(readFileSync(join(dir, file), 'utf8'))) : {};
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

class OrtModel implements LoadedModel {
  readonly #session: ort.InferenceSession;
  #profile: { dir: string; done: (placement: Placement) => void } | undefined;
  readonly inputs;
  readonly outputs;

  constructor(
    session: ort.InferenceSession,
    profile?: { dir: string; done: (placement: Placement) => void },
  ) {
    this.#session = session;
    this.#profile = profile;
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
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(t);
    const result = outputNames
      ? await this.#session.run(ortFeeds, outputNames)
      : await this.#session.run(ortFeeds);
    const profile = this.#profile;
    if (profile) {
      this.#profile = undefined;
      profile.done(endProfile(this.#session, profile.dir));
    }
    const out: Record<string, HostTensor> = {};
    for (const [name, value] of Object.entries(result)) out[name] = fromOrtTensor(name, value as ort.Tensor);
    return out;
  }

  release(): Promise<void> {
    if (this.#profile) rmSync(this.#profile.dir, { recursive: true, force: true });
    this.#profile = undefined;
    return this.#session.release();
  }
}
