/**
 * What a model package must satisfy beyond its own manifest: a fallback that can stand in for
 * its model, hardware its target can run on, and bytes that hash to what the manifest says.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Manifest } from './manifest.ts';
import { hardwareOf, type Placement } from './placement.ts';
import type { ModelEntry } from './types.ts';

/** Bytes' sha256 in lowercase hex: how manifests name model files and the store names objects. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The problem when model.onnx's bytes do not hash to the manifest's sha256. */
export function hashMismatch(manifestShown: string, sha256: string, bytes: Uint8Array): string | undefined {
  const actual = sha256Hex(bytes);
  if (actual === sha256) return undefined;
  return (
    `${manifestShown}: sha256 does not match model.onnx (file hashes to ${actual}, manifest says ${sha256}). ` +
    `A version is immutable: if you meant to change the model, create a new version folder; if the manifest is wrong, set "sha256": "${actual}"`
  );
}

/** The inputs a request must carry, without the prose. */
function inputSignature(m: Manifest): string {
  return JSON.stringify(m.inputs, (k, v) => (k === 'description' || k === 'unit' ? undefined : v));
}

/** Each fallback must name a loaded, Lambda-served version with the same inputs. */
export function checkFallbacks(
  models: ReadonlyMap<string, ModelEntry>,
  problems: string[],
  rel: (p: string) => string,
  filtered: boolean,
): void {
  for (const entry of models.values()) {
    for (const mv of entry.versions) {
      const fb = mv.placement.fallback;
      if (!fb) continue;
      const where = `${rel(join(mv.dir, 'model.json'))}: fallback`;
      const target = models.get(fb.model);
      if (!target) {
        problems.push(
          filtered
            ? `${where} names "${fb.model}", which this function does not load; add it to MODEL_NAMES`
            : `${where} names "${fb.model}", which is not in models/`,
        );
        continue;
      }
      const version = target.aliases[fb.version] ?? fb.version;
      const fbv = target.versions.find((v) => v.version === version);
      if (!fbv) {
        problems.push(`${where} names ${fb.model} "${fb.version}", which is not a version or alias of it`);
      } else if (fbv.placement.target !== 'lambda') {
        problems.push(
          `${where} ${fb.model}@${fbv.version} is itself served by SageMaker; name a light model`,
        );
      } else if (inputSignature(fbv.manifest) !== inputSignature(mv.manifest)) {
        problems.push(
          `${where} ${fb.model}@${fbv.version} takes different inputs; a fallback must accept the same request`,
        );
      } else if (fbv.manifest.task !== mv.manifest.task) {
        problems.push(
          `${where} ${fb.model}@${fbv.version} is a ${fbv.manifest.task} model, not ${mv.manifest.task}`,
        );
      }
    }
  }
}

/**
 * What a manifest's target asks of the hardware that its instance type cannot give: ONNX on
 * Inferentia or Trainium (AWS rule sagemaker-neuron), a Neuron model without its compiled
 * artifact, or an accelerator the instance type does not carry.
 */
export function hardwareProblems(manifest: Manifest, route: Placement): string[] {
  const instance = route.endpoint?.instanceType;
  if (route.target !== 'sagemaker' || !instance) return [];
  const hardware = hardwareOf(instance);
  const t = manifest.target;
  const accelerator = t.type === 'lambda' ? undefined : t.accelerator;
  const problems: string[] = [];
  if (hardware === 'neuron' && !route.endpoint?.image) {
    problems.push(
      `target.instanceType ${instance} is Inferentia or Trainium, which runs Neuron-compiled models, not ONNX; set target.image to a Neuron serving image (e.g. 763104351884.dkr.ecr.<region>.amazonaws.com/pytorch-inference-neuronx:<tag>) and target.modelDataUrl to your compiled model.tar.gz (docs/heavy-models.md), or pick a GPU type such as ml.g5.xlarge`,
    );
  } else if (hardware === 'neuron' && !route.endpoint?.modelDataUrl) {
    problems.push(
      `target.instanceType ${instance} runs a Neuron-compiled model, which infera cannot build from model.onnx; set target.modelDataUrl to the s3://…/model.tar.gz your Neuron compile produced`,
    );
  }
  const wanted = accelerator === 'gpu' ? 'gpu' : accelerator === 'inferentia' ? 'neuron' : undefined;
  if (wanted && wanted !== hardware) {
    problems.push(
      `target.accelerator "${accelerator}" asks for ${wanted === 'gpu' ? 'an NVIDIA GPU' : 'AWS Inferentia'}, but target.instanceType ${instance} has ${hardware === 'cpu' ? 'none' : hardware === 'gpu' ? 'a GPU' : 'Neuron chips'}; choose an instance type such as ${wanted === 'gpu' ? 'ml.g5.xlarge' : 'ml.inf2.xlarge'}, or drop target.accelerator`,
    );
  }
  return problems;
}
