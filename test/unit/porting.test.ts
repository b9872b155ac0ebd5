/**
 * The ported examples are the reference-typed ones with the calling SDK's import switched and nothing
 * else (scripts/port-examples.ts makes them): what docs/porting.md promises a port is.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { PORTED_DIR, REFERENCE_DIR, port, referenceModules } from '../../scripts/port-examples.js';

describe('examples/porting', () => {
  const modules = referenceModules();

  it('has the seeds’ quickstarts and the participant card, written against the reference SDK', () => {
    assert.deepEqual(modules.sort(), ['participantCard.ts', 'quickstart.ts']);
    for (const name of modules) {
      const source = readFileSync(join(REFERENCE_DIR, name), 'utf8');
      assert.match(source, /from '@azure\/communication-calling';/, name);
      assert.doesNotMatch(source, /from '@backchannel\//, `${name} imports nothing of Backchannel`);
    }
  });

  for (const name of modules) {
    it(`${name}: the port differs from the reference-typed module in the calling SDK's import only`, () => {
      const reference = readFileSync(join(REFERENCE_DIR, name), 'utf8');
      const ported = readFileSync(join(PORTED_DIR, name), 'utf8');
      assert.equal(ported, port(reference), `run npx tsx scripts/port-examples.ts after changing examples/porting/reference/${name}`);
      const changed = reference.split('\n').filter((line, i) => line !== ported.split('\n')[i]);
      assert.deepEqual(changed, ["} from '@azure/communication-calling';"]);
    });
  }
});
