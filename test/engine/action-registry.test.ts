// The preparation registry is typed against the action table: every row has exactly one entry.
// The @ts-expect-error lines are the proof that the compiler (npm test runs tsc first) refuses a
// registry that misses a row or names an action the table does not have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS } from '../../src/domain/actions.ts';
import { PREPARATIONS, type PreparationRegistry } from '../../src/engine/actions/index.ts';
import { PLAIN } from '../../src/engine/actions/preparation.ts';

test('every row of the action table has a preparation, and every preparation a row', () => {
  assert.deepEqual(Object.keys(PREPARATIONS).sort(), Object.keys(ACTIONS).sort());
  for (const [name, p] of Object.entries(PREPARATIONS)) assert.equal(typeof p.prepare, 'function', name);
});

test('a registry missing a row or naming an unknown action does not compile', () => {
  const { pause: _pause, ...withoutPause } = PREPARATIONS;
  // @ts-expect-error pause's row has no preparation
  const missing: PreparationRegistry = withoutPause;
  // @ts-expect-error frobnicate is no row of the action table
  const extra: PreparationRegistry = { ...PREPARATIONS, frobnicate: PLAIN };
  assert.ok(missing && extra);
});
