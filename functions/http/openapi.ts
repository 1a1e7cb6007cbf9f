import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { isRecord } from '#core/checked.ts';
import type { Datatype, TensorSpec } from '#core/model/manifest.ts';
import { instanceSchema } from '#core/tensor/features.ts';
import '#core/protocol/schemas.ts';
import type { ModelRegistry } from '#core/model/registry.ts';
import { OPERATIONS } from './routes.ts';

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Invalid JSON, or a field breaks the schema; details name each field path and bound.',
  '404': 'Unknown model, version or alias.',
  '405': 'Wrong method for this path; see the Allow header.',
  '413': 'Body or instance count over the limit.',
  '415': 'Body is not application/json.',
  '500': 'Internal error; the body carries a request id.',
};

function pascal(name: string): string {
  return name.replace(/(^|[^a-zA-Z0-9])([a-zA-Z0-9])/g, (_, __, c: string) => c.toUpperCase());
}

function goldenExample(dir: string): unknown {
  try {
    const g: unknown = JSON.parse(readFileSync(join(dir, 'fixtures', 'golden.json'), 'utf8'));
    return isRecord(g) && Array.isArray(g.instances) ? g.instances[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * OpenAPI 3.1 for the whole API, generated from the same zod schemas that validate requests,
 * plus one instance schema per model from its manifest. Served at GET /openapi.json.
 */
export function buildOpenApi(registry: ModelRegistry, version: string): Record<string, unknown> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const components: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    const { $schema: _, ...rest } = schema;
    components[id] = rest;
  }
  const examples: Record<string, unknown> = {};
  for (const m of registry.list()) {
    const live = registry.resolve(m.name);
    const inputs = live.manifest.inputs;
    if (inputs.kind !== 'tabular') {
      components[`${pascal(m.name)}Instance`] = inputs.text
        ? textInstance(inputs.text.field, m.name, live.version)
        : tensorInstance(inputs.tensors, m.name, live.version);
      continue;
    }
    const { $schema: _, ...schema } = z.toJSONSchema(
      instanceSchema(inputs.features, live.manifest.quality?.idField),
      { io: 'input' },
    );
    components[`${pascal(m.name)}Instance`] = {
      ...schema,
      description: `One instance for model '${m.name}' (version ${live.version}).`,
    };
    const example = goldenExample(live.dir);
    if (example) examples[m.name] = { summary: m.name, value: { instances: [example] } };
  }

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const params: Record<string, unknown>[] = [...op.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema:
        match[1] === 'model'
          ? { type: 'string', enum: registry.list().map((m) => m.name) }
          : { type: 'string' },
    }));
    for (const [name, description] of Object.entries(op.query ?? {})) {
      params.push({ name, in: 'query', required: false, schema: { type: 'string' }, description });
    }
    const id = (s: z.ZodType) => z.globalRegistry.get(s)?.id;
    const responseId = id(op.response);
    const responses: Record<string, unknown> = {
      '200': {
        description: 'OK',
        content: {
          'application/json': {
            schema: responseId ? { $ref: `#/components/schemas/${responseId}` } : { type: 'object' },
          },
        },
      },
    };
    for (const [status, description] of Object.entries(ERROR_STATUSES)) {
      if (!op.request && (status === '413' || status === '415')) continue;
      responses[status] = {
        description,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const requestId = op.request ? id(op.request) : undefined;
    const raw = op.raw ? rawBodies(registry) : {};
    const path = paths[op.path] ?? {};
    paths[op.path] = path;
    path[op.method.toLowerCase()] = {
      operationId: op.id,
      summary: op.summary,
      tags: [op.tag],
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(requestId
        ? {
            requestBody: {
              required: true,
              content: {
                'application/json': {
                  schema: { $ref: `#/components/schemas/${requestId}` },
                  ...(op.id === 'predict' && Object.keys(examples).length > 0 ? { examples } : {}),
                },
                ...raw,
              },
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'infera inference API',
      version,
      description:
        'Real-time scoring for ONNX models: v1 JSON instances, and the Open Inference Protocol v2. Per-model instance schemas are under components.schemas.<Model>Instance and GET /v1/models/{model}.',
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'v1', description: 'infera JSON API' },
      { name: 'v2', description: 'Open Inference Protocol (KServe v2)' },
      { name: 'meta', description: 'API description' },
    ],
    paths,
    components: { schemas: components },
  };
}

/** The JSON form of one element of each datatype, with its range. */
function elementSchema(datatype: Datatype): Record<string, unknown> {
  if (datatype === 'BOOL') return { type: 'boolean' };
  if (datatype === 'BYTES') return { type: 'string' };
  if (datatype.startsWith('FP')) return { type: 'number' };
  if (datatype === 'INT64' || datatype === 'UINT64') {
    return {
      oneOf: [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]{1,20}$' }],
      description: 'beyond 2^53, a decimal string',
    };
  }
  const bits = Number(datatype.replace(/\D/g, ''));
  const unsigned = datatype.startsWith('U');
  return {
    type: 'integer',
    minimum: unsigned ? 0 : -(2 ** (bits - 1)),
    maximum: unsigned ? 2 ** bits - 1 : 2 ** (bits - 1) - 1,
  };
}

/** The raw bodies the predict route takes, and which models take each. */
function rawBodies(registry: ModelRegistry): Record<string, unknown> {
  const images: string[] = [];
  const texts: string[] = [];
  for (const m of registry.list()) {
    const inputs = registry.resolve(m.name).manifest.inputs;
    if (inputs.kind !== 'tensors') continue;
    if (inputs.text) texts.push(m.name);
    else if (inputs.tensors.length === 1 && inputs.tensors[0]?.image) images.push(m.name);
  }
  const out: Record<string, unknown> = {};
  const binary = (who: string[]) => ({
    schema: {
      type: 'string',
      contentMediaType: 'application/octet-stream',
      description: `One image file as the body, for models with one image input: ${who.join(', ')}.`,
    },
  });
  if (images.length > 0) {
    out['image/png'] = binary(images);
    out['image/jpeg'] = binary(images);
  }
  if (texts.length > 0) {
    out['text/plain'] = {
      schema: {
        type: 'string',
        description: `The text itself, UTF-8, for text models: ${texts.join(', ')}. A body starting with { is read as JSON.`,
      },
    };
  }
  return out;
}

/** A text model's v1 instance: one string. */
function textInstance(field: string, model: string, version: string): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      [field]: { type: 'string', maxLength: 100_000, description: 'The text; tokenized by the model.' },
    },
    required: [field],
    additionalProperties: false,
    description: `One instance for model '${model}' (version ${version}), a text model. In v2, input '${field}' with datatype BYTES; or send text/plain.`,
  };
}

/** A tensor model's v1 instance: each input as nested arrays of its shape after the batch dimension. */
function tensorInstance(
  specs: readonly TensorSpec[],
  model: string,
  version: string,
): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const spec of specs) {
    if (spec.image) {
      properties[spec.name] = {
        type: 'object',
        properties: {
          b64: { type: 'string', contentEncoding: 'base64', description: 'A PNG or JPEG file.' },
        },
        required: ['b64'],
        additionalProperties: false,
        description: `An image file, decoded and pre-processed to ${spec.datatype} [${spec.shape.join(', ')}] (${spec.image.colorOrder}, ${spec.image.layout}, resize ${spec.image.resize}). In v2, input '${spec.name}' as BYTES (the files) or ${spec.datatype} (the tensor); or send the file as an image/png or image/jpeg body.`,
      };
      continue;
    }
    let schema = elementSchema(spec.datatype);
    for (const d of [...spec.shape.slice(1)].reverse()) {
      schema = { type: 'array', items: schema, ...(d > 0 ? { minItems: d, maxItems: d } : { minItems: 1 }) };
    }
    properties[spec.name] = {
      ...schema,
      description: `${spec.datatype} tensor; shape [${spec.shape.join(', ')}] (-1: any size), the first dimension being the instances. In v2, input '${spec.name}' with datatype ${spec.datatype}.`,
    };
  }
  return {
    type: 'object',
    properties,
    required: specs.map((s) => s.name),
    additionalProperties: false,
    description: `One instance for model '${model}' (version ${version}), a tensor model.`,
  };
}
