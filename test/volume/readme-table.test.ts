// The README's block storage tables are the generated ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { volumeActionTableMarkdown, volumeCreateTableMarkdown } from '../../src/domain/volume/docs.ts';

test('README documents exactly the volume action table the engine applies', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /<!-- volume-table:start -->\n([\s\S]*?)\n<!-- volume-table:end -->/.exec(readme);
  assert.ok(m, 'README lacks the volume-table markers');
  assert.equal(m[1], `${volumeCreateTableMarkdown()}\n\n${volumeActionTableMarkdown()}`);
});
