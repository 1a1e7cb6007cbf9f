/**
 * `infera init`'s draft: a model.json from what an ONNX graph declares (names, element types,
 * shapes, rank 0 included) and what the user says (name, task, labels). Pure: the graph's
 * signature in, the manifest and the guesses it had to make out, so each guess can be printed.
 */
import { TASKS, type Task } from '#core/model/manifest.ts';
import type { TensorType } from '#core/ports.ts';
import { TYPE_TO_DATATYPE } from '#core/tensor/tensors.ts';

/** One graph input or output as onnxruntime reports it: a symbolic or unknown dimension is a string. */
export interface GraphTensor {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

export interface DraftOptions {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly task?: string | undefined;
  readonly labels?: readonly string[] | undefined;
}

const isTensorType = (t: string): t is TensorType => t in TYPE_TO_DATATYPE;

function spec(t: GraphTensor, problems: string[]) {
  if (!isTensorType(t.type)) {
    problems.push(`'${t.name}' has element type ${t.type}, which infera cannot serve`);
    return { name: t.name, datatype: 'FP32', shape: [] };
  }
  return {
    name: t.name,
    datatype: TYPE_TO_DATATYPE[t.type],
    shape: t.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)),
  };
}

/** The manifest drafted from the graph, what it guessed (to print), and what cannot be served. */
export function draftManifest(
  graph: { readonly inputs: readonly GraphTensor[]; readonly outputs: readonly GraphTensor[] },
  o: DraftOptions,
): { manifest: Record<string, unknown>; guesses: string[]; problems: string[] } {
  const guesses: string[] = [];
  const problems: string[] = [];
  const inputs = graph.inputs.map((t) => spec(t, problems));
  const outputs = graph.outputs.map((t) => spec(t, problems));
  const labels = o.labels ?? [];
  let task: Task;
  if (o.task !== undefined) {
    const named = TASKS.find((t) => t === o.task);
    if (!named) {
      problems.push(`--task '${o.task}' is not a task; use one of: ${TASKS.join(', ')}`);
      task = 'tensor';
    } else task = named;
  } else if (labels.length >= 2 && outputs.length >= 1) {
    task = labels.length === 2 ? 'binary-classification' : 'multiclass-classification';
    guesses.push(
      `task "${task}": from the ${labels.length} labels; the scores are read from output '${outputs[0]?.name}' (if it holds logits, add "activation": "softmax" to outputs)`,
    );
  } else {
    task = 'tensor';
    guesses.push(
      'task "tensor": every output is returned as it is; for a classifier pass --task and --labels',
    );
  }
  if (task !== 'tensor' && labels.length === 0 && task !== 'regression' && task !== 'embedding')
    problems.push(`task "${task}" needs its labels: pass --labels <file>, one label a line, in output order`);
  for (const i of inputs) {
    if (i.shape.length > 0 && i.shape[0] === -1) continue;
    if (i.shape.length === 0) {
      guesses.push(
        `input '${i.name}' is a scalar (shape []): a v1 request gives it in every instance, with one value for the whole request; v2 sends it with "shape": []`,
      );
      continue;
    }
    guesses.push(
      `input '${i.name}' has no batch dimension (shape [${i.shape.join(', ')}]): requests send it with POST /v2/models/${o.name}/infer`,
    );
  }
  const first = outputs[0];
  const manifest: Record<string, unknown> = {
    name: o.name,
    version: o.version,
    description: `Drafted by infera init from ${o.file}; describe the model here.`,
    task,
    inputs: { kind: 'tensors', tensors: inputs },
    outputs:
      task === 'tensor'
        ? { tensors: outputs }
        : { tensor: first?.name ?? '', ...(labels.length > 0 ? { labels: [...labels] } : {}) },
    sha256: o.sha256,
  };
  return { manifest, guesses, problems };
}
