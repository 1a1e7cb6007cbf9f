#!/usr/bin/env node
/**
 * B2's baseline: the bare server a team writes first. node:http, JSON.parse, the manifest's
 * features copied into a Float32Array (no validation), one session.run with the same options the
 * platform uses, JSON.stringify. Same model, same request body, same answer.
 *
 *   node bench/baseline/http-server.ts <model version dir> [port]
 * Prints "listening <port>" once ready.
 */
import { createServer } from 'node:http';
import * as ort from 'onnxruntime-node';
import { encodeValue, openBareModel } from './bare-model.ts';

const { session, features, labels, input, output } = await openBareModel(
  process.argv[2],
  'node bench/baseline/http-server.ts <model version dir> [port]',
);
const [neg, pos] = labels as [string, string];

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
        x[r * features.length + c] = encodeValue(f, row[f.name]);
      });
    });
    const out = await session.run({ [input]: new ort.Tensor('float32', x, [instances.length, features.length]) });
    const p = out[output]?.data as Float32Array;
    const predictions = instances.map((_, i) => ({
      score: p[i * 2 + 1],
      probabilities: { [neg]: p[i * 2], [pos]: p[i * 2 + 1] },
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
