#!/usr/bin/env node
/**
 * B2's baseline: the bare server a team writes first. node:http, JSON.parse, the manifest's
 * features copied into a Float32Array (no validation), one session.run with the same options the
 * platform uses, JSON.stringify. Same model, same request body, same answer.
 *
 *   node bench/baseline/http-server.ts <model version dir> [port]
 * Prints "listening <port>" once ready.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2] as string;
const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
const features = manifest.inputs.features as {
  name: string;
  type: string;
  values?: string[];
  default?: number;
}[];
const session = await ort.InferenceSession.create(readFileSync(join(dir, 'model.onnx')), {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  intraOpNumThreads: Math.min(availableParallelism(), 4),
  interOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});
const input = session.inputNames[0] as string;
const output = session.outputNames[0] as string;
const labels = manifest.outputs.labels as string[];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const { instances } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      instances: Record<string, unknown>[];
    };
    const x = new Float32Array(instances.length * features.length);
    instances.forEach((row, r) => {
      features.forEach((f, c) => {
        const v = row[f.name] ?? f.default;
        x[r * features.length + c] =
          f.type === 'categorical' ? (f.values as string[]).indexOf(v as string) : f.type === 'boolean' ? (v ? 1 : 0) : (v as number);
      });
    });
    const out = await session.run({ [input]: new ort.Tensor('float32', x, [instances.length, features.length]) });
    const p = out[output]?.data as Float32Array;
    const predictions = instances.map((_, i) => ({
      score: p[i * 2 + 1],
      probabilities: { [labels[0] as string]: p[i * 2], [labels[1] as string]: p[i * 2 + 1] },
    }));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ predictions }));
  });
});
server.listen(Number(process.argv[3] ?? 0), '127.0.0.1', () => {
  const a = server.address();
  console.log(`listening ${typeof a === 'object' && a ? a.port : ''}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
