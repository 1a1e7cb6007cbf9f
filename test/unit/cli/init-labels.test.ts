import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelsInGraph, parseLabels } from '../../../cli/init-labels.ts';
import { GraphBuilder } from '../../../scripts/lib/onnx.ts';

const graph = (metadata: Record<string, string>) => {
  const g = new GraphBuilder();
  g.op('Softmax', [g.input('x', 'float32', ['N', 3])], { axis: 1 }, 'p');
  g.output('p', 'float32', ['N', 3]);
  return g.build({ name: 'm', doc: 'softmax', metadata });
};

describe('class labels an ONNX file carries', () => {
  it('reads the forms exporters write: JSON arrays and objects, Python dicts, lines and commas', () => {
    assert.deepEqual(parseLabels('["cat", "dog"]'), ['cat', 'dog']);
    assert.deepEqual(parseLabels('{"1": "dog", "0": "cat"}'), ['cat', 'dog']);
    assert.deepEqual(parseLabels("{0: 'person', 1: 'bicycle', 2: \"traffic light\"}"), [
      'person',
      'bicycle',
      'traffic light',
    ]);
    assert.deepEqual(parseLabels('cat\ndog\n'), ['cat', 'dog']);
    assert.deepEqual(parseLabels('cat, dog'), ['cat', 'dog']);
    assert.equal(parseLabels('{"0": "cat", "5": "dog"}'), undefined, 'indexes with a gap are no labels');
  });

  it("finds them in the graph's metadata, saying where, and nothing in a graph without any", () => {
    assert.deepEqual(labelsInGraph(graph({ names: "{0: 'a', 1: 'b', 2: 'c'}" })), {
      labels: ['a', 'b', 'c'],
      from: `the graph's metadata "names"`,
    });
    assert.equal(labelsInGraph(graph({ author: 'me' })), undefined);
    assert.equal(labelsInGraph(new TextEncoder().encode('not a model')), undefined);
  });
});
