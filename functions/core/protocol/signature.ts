/** Start-up check: the ONNX graph against its manifest, so a mismatch fails the start, not a request. */
import { relPath as rel } from '../model/paths.ts';
import type { ModelVersion } from '../model/registry.ts';
import type { LoadedModel } from '../ports.ts';
import { DATATYPE_TO_TYPE } from '../tensor/tensors.ts';
import { outputNames } from './encode.ts';

/** Compares the ONNX graph's inputs and outputs with the manifest; each problem names the fix. */
export function checkSignature(mv: ModelVersion, model: LoadedModel): string[] {
  const m = mv.manifest;
  const where = `${rel(mv.dir)}/model.json`;
  const problems: string[] = [];
  const graphInputs = new Map(model.inputs.map((v) => [v.name, v]));
  const graphOutputs = new Map(model.outputs.map((v) => [v.name, v]));
  const list = (names: Iterable<string>) => [...names].join(', ');
  if (m.inputs.kind === 'tabular') {
    const input = graphInputs.get(m.inputs.tensor);
    if (!input) {
      problems.push(
        `${where}: inputs.tensor is "${m.inputs.tensor}" but model.onnx has inputs: ${list(graphInputs.keys())}; set "tensor" to the one that takes the feature matrix`,
      );
    } else {
      if (input.type !== 'float32')
        problems.push(
          `${where}: tabular input "${input.name}" must be float32 in the graph, is ${input.type}`,
        );
      const width = input.shape?.[1];
      if (input.shape?.length !== 2) {
        problems.push(
          `${where}: tabular input "${input.name}" must have shape [N, features], has [${input.shape?.join(', ')}]`,
        );
      } else if (typeof width === 'number' && width !== m.inputs.features.length) {
        problems.push(
          `${where}: model.onnx takes ${width} features but inputs.features lists ${m.inputs.features.length}; list them in the graph's column order`,
        );
      }
    }
    for (const name of graphInputs.keys()) {
      if (name !== m.inputs.tensor)
        problems.push(`${where}: graph input "${name}" is not described in the manifest`);
    }
  } else {
    for (const spec of m.inputs.tensors) {
      const g = graphInputs.get(spec.name);
      if (!g) {
        problems.push(
          `${where}: input "${spec.name}" is not in model.onnx (graph inputs: ${list(graphInputs.keys())})`,
        );
        continue;
      }
      const want = DATATYPE_TO_TYPE[spec.datatype];
      if (g.type !== want)
        problems.push(
          `${where}: input "${spec.name}" is ${spec.datatype} in the manifest but ${g.type} in model.onnx`,
        );
      if (g.shape && g.shape.length > 0 && g.shape.length !== spec.shape.length) {
        problems.push(
          `${where}: input "${spec.name}" has rank ${spec.shape.length} in the manifest but ${g.shape.length} in model.onnx`,
        );
      } else if (g.shape) {
        // A fixed size in both that differs would fail every request; a -1 or a symbolic one is free.
        spec.shape.forEach((d, i) => {
          const gd = g.shape?.[i];
          if (d !== -1 && typeof gd === 'number' && gd > 0 && gd !== d) {
            problems.push(
              `${where}: input "${spec.name}" dimension ${i} is ${d} in the manifest but ${gd} in model.onnx (graph shape [${g.shape?.join(', ')}]); make them the same, or use -1`,
            );
          }
        });
      }
    }
    for (const name of graphInputs.keys()) {
      if (!m.inputs.tensors.some((t) => t.name === name))
        problems.push(`${where}: graph input "${name}" is not described in the manifest`);
    }
  }
  for (const name of outputNames(m)) {
    const g = graphOutputs.get(name);
    if (!g) {
      problems.push(
        `${where}: output "${name}" is not in model.onnx (graph outputs: ${list(graphOutputs.keys())})`,
      );
    } else if (m.task !== 'tensor' && g.type !== 'float32') {
      problems.push(`${where}: output "${name}" must be float32 for task ${m.task}, is ${g.type}`);
    }
  }
  const scores = m.outputs.tensor ? graphOutputs.get(m.outputs.tensor) : undefined;
  const width = scores?.shape?.[scores.shape.length - 1];
  const labels = m.outputs.labels;
  if (
    m.task === 'multiclass-classification' &&
    labels &&
    typeof width === 'number' &&
    width !== labels.length
  ) {
    problems.push(
      `${where}: output "${m.outputs.tensor}" has ${width} classes in model.onnx but the manifest has ${labels.length} labels${m.outputs.labelsFile ? ` (${m.outputs.labelsFile})` : ''}; give one label per class`,
    );
  }
  for (const spec of m.task === 'tensor' ? (m.outputs.tensors ?? []) : []) {
    const g = graphOutputs.get(spec.name);
    if (g && g.type !== DATATYPE_TO_TYPE[spec.datatype]) {
      problems.push(
        `${where}: output "${spec.name}" is ${spec.datatype} in the manifest but ${g.type} in model.onnx`,
      );
    }
  }
  return problems;
}
