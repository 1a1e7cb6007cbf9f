/**
 * Class labels an ONNX file carries itself, for `infera init` without --labels: a metadata
 * property (Ultralytics' `names`, or `labels`, `classes`, `class_names`, `id2label`), or the
 * class labels of an ONNX-ML classifier node (scikit-learn's exports: ZipMap, LinearClassifier,
 * TreeEnsembleClassifier, SVMClassifier). The file is decoded with onnx-proto, ONNX's own schema.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Metadata keys that name classes, in the order they are tried. */
const LABEL_KEYS = ['labels', 'classes', 'class_names', 'names', 'id2label'];

export interface GraphLabels {
  readonly labels: readonly string[];
  /** Where they were found, to print with the guess. */
  readonly from: string;
}

export function labelsInGraph(bytes: Uint8Array): GraphLabels | undefined {
  let model: ReturnType<typeof onnx.ModelProto.decode>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined;
  }
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  for (const key of LABEL_KEYS) {
    const value = props.get(key);
    const labels = value === undefined ? undefined : parseLabels(value);
    if (labels && labels.length >= 2) return { labels, from: `the graph's metadata "${key}"` };
  }
  for (const node of model.graph?.node ?? []) {
    for (const a of node.attribute ?? []) {
      if (a.name === 'classlabels_strings' && (a.strings?.length ?? 0) >= 2)
        return {
          labels: (a.strings ?? []).map((s) => new TextDecoder().decode(s)),
          from: `the ${node.opType} node's classlabels_strings`,
        };
      if (a.name === 'classlabels_int64s' && (a.ints?.length ?? 0) >= 2)
        return {
          labels: (a.ints ?? []).map((n) => String(n)),
          from: `the ${node.opType} node's classlabels_int64s`,
        };
    }
  }
  return undefined;
}

/**
 * A labels value as exporters write it: a JSON array, a JSON object of index to label, a Python
 * dict's text ({0: 'person', 1: 'bicycle'}, as Ultralytics writes `names`), or one label a line or
 * a comma. Objects are ordered by their index.
 */
export function parseLabels(value: string): string[] | undefined {
  const text = value.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed)) return parsed.map(String);
    if (parsed && typeof parsed === 'object') return byIndex(Object.entries(parsed as object));
  } catch {
    // not JSON: a Python dict, or a list
  }
  if (text.startsWith('{')) {
    const entries = [...text.matchAll(/(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g)].map(
      (m) => [m[1] as string, (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1')] as [string, string],
    );
    return entries.length > 0 ? byIndex(entries) : undefined;
  }
  const parts = text.split(text.includes('\n') ? /\r?\n/ : ',').map((s) => s.trim());
  return parts.every((p) => p !== '') ? parts : undefined;
}

/** Labels keyed by their index, in index order; undefined unless the indexes are 0..n-1. */
function byIndex(entries: readonly [string, unknown][]): string[] | undefined {
  const out: string[] = [];
  for (const [k, v] of entries) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length) return undefined;
    out[i] = String(v);
  }
  return out.length === entries.length && !out.includes(undefined as unknown as string) ? out : undefined;
}
