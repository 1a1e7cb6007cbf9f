import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelLayout, modelServiceName, PER_MODEL_MAX } from '../../../infra/lib/layout.ts';

describe('how the stack lays out model functions', () => {
  it(`gives each model a function up to ${PER_MODEL_MAX} models, and shares one beyond, when auto`, () => {
    assert.equal(modelLayout('auto', 1), 'per-model');
    assert.equal(modelLayout('auto', PER_MODEL_MAX), 'per-model');
    assert.equal(modelLayout('auto', PER_MODEL_MAX + 1), 'shared');
    assert.equal(modelLayout('auto', 500), 'shared');
  });

  it('follows an explicit setting whatever the number of models', () => {
    assert.equal(modelLayout('shared', 1), 'shared');
    assert.equal(modelLayout('per-model', 500), 'per-model');
  });

  it("names the metrics' service of a model's function: its own, or the shared one", () => {
    assert.equal(modelServiceName('iris', 'per-model'), 'infera-iris');
    assert.equal(modelServiceName('iris', 'shared'), 'infera-shared-models');
  });
});
