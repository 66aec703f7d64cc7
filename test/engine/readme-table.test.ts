// The README's copies of the status map and the action table are the generated ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { actionTableMarkdown, statusTableMarkdown } from '../../src/domain/docs.ts';

function between(text: string, name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(text);
  assert.ok(m, `README lacks the ${name} markers`);
  return m[1];
}

test('README documents exactly the action table and status map the engine applies', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.equal(between(readme, 'status-table'), statusTableMarkdown());
  assert.equal(between(readme, 'action-table'), actionTableMarkdown());
});
