/**
 * What both baselines share, kept bare: the manifest read as plain JSON (no validation), one
 * session with the options the platform's engine uses, and a feature encoder with no checks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '#adapters/onnxruntime.ts';
import { loadConfig } from '#runtime/config.ts';

export interface BareFeature {
  readonly name: string;
  readonly type: string;
  readonly values?: readonly string[];
  readonly default?: number;
}

export interface BareModel {
  readonly session: ort.InferenceSession;
  readonly features: readonly BareFeature[];
  readonly labels: readonly string[];
  readonly input: string;
  readonly output: string;
}

/** Opens `<dir>/model.onnx`, or exits with the usage line when `dir` is missing. */
export async function openBareModel(dir: string | undefined, usage: string): Promise<BareModel> {
  if (!dir) {
    console.error(`Usage: ${usage}`);
    process.exit(2);
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  const config = loadConfig();
  const session = await ort.InferenceSession.create(
    readFileSync(join(dir, 'model.onnx')),
    sessionOptions({ intraOpThreads: config.ORT_INTRA_OP_THREADS, interOpThreads: config.ORT_INTER_OP_THREADS }),
  );
  return {
    session,
    features: manifest.inputs.features,
    labels: manifest.outputs.labels,
    input: session.inputNames[0] as string,
    output: session.outputNames[0] as string,
  };
}

/** One feature value as the model's float: category index, 0/1, the number, or the default. */
export function encodeValue(f: BareFeature, v: unknown): number {
  if (v === undefined || v === null) return f.default ?? 0;
  if (f.type === 'categorical') return (f.values as readonly string[]).indexOf(v as string);
  if (f.type === 'boolean') return v ? 1 : 0;
  return v as number;
}
