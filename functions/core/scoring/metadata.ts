/** Open Inference Protocol v2 model metadata: the tensors a client sends and gets back. */

import type { ModelVersion } from '../model/registry.ts';
import { v2OutputMetadata } from '../protocol/encode.ts';
import type { V2ModelMetadata } from '../protocol/schemas.ts';
import { featureDatatype } from '../tensor/features.ts';

/** What an image input's metadata adds: it also takes PNG or JPEG files, one per BYTES element. */
export const IMAGE_PARAMETERS = { image_datatype: 'BYTES', image_formats: 'png,jpeg' } as const;

/** The metadata of one version; `versions` lists every version of its model. */
export function metadataV2(mv: ModelVersion, versions: readonly string[]): V2ModelMetadata {
  const m = mv.manifest;
  const inputs =
    m.inputs.kind === 'tabular'
      ? m.inputs.features.map((f) => ({ name: f.name, datatype: featureDatatype(f), shape: [-1] }))
      : m.inputs.text
        ? [{ name: m.inputs.text.field, datatype: 'BYTES', shape: [-1] }]
        : m.inputs.tensors.map((t) => ({
            name: t.name,
            datatype: t.datatype,
            shape: t.shape,
            // The byte form a client cannot learn from the tensor alone: PNG/JPEG files as BYTES.
            ...(t.image ? { parameters: IMAGE_PARAMETERS } : {}),
          }));
  return {
    name: mv.name,
    versions: [...versions],
    platform: 'onnx_onnxv1',
    inputs,
    outputs: v2OutputMetadata(m),
  };
}
