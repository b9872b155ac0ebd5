/**
 * The documentation keeps up with the code: docs/errors.md lists every error code and drop reason the
 * protocol defines, and the README's two commands are the ones CI runs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import {
  AppMessageErrorCode,
  CallErrorCode,
  DataChannelErrorCode,
  DropReason,
  FrameErrorCode,
  IdentityApiErrorCode,
  PeerCallEndCode,
  ServerErrorCode,
  StreamErrorCode,
} from '@backchannel/protocol';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

const START_COMMAND = 'npm install && npm start';
const TEST_COMMAND = 'npm ci && npm test';

/** Every code table, by name: what docs/errors.md must list (DropReason by name, the others by value). */
const CODE_TABLES: Record<string, readonly string[]> = {
  DataChannelErrorCode: Object.values(DataChannelErrorCode),
  CallErrorCode: Object.values(CallErrorCode),
  PeerCallEndCode: Object.values(PeerCallEndCode),
  StreamErrorCode: Object.values(StreamErrorCode),
  IdentityApiErrorCode: Object.values(IdentityApiErrorCode),
  ServerErrorCode: Object.values(ServerErrorCode),
  AppMessageErrorCode: Object.values(AppMessageErrorCode),
  FrameErrorCode: Object.values(FrameErrorCode),
  DropReason: Object.keys(DropReason),
};

describe('docs/errors.md', () => {
  const errors = read('docs/errors.md');

  for (const [table, codes] of Object.entries(CODE_TABLES)) {
    it(`lists every ${table} value in backticks`, () => {
      const missing = codes.filter((code) => !errors.includes(`\`${code}\``));
      assert.deepEqual(missing, []);
    });
  }
});

describe('README.md', () => {
  const readme = read('README.md');

  it(`gives the command that starts the server verbatim: ${START_COMMAND}`, () => {
    assert.ok(readme.includes(START_COMMAND), `README.md must contain: ${START_COMMAND}`);
  });

  it(`gives the command that runs every test verbatim: ${TEST_COMMAND}`, () => {
    assert.ok(readme.includes(TEST_COMMAND), `README.md must contain: ${TEST_COMMAND}`);
  });
});

describe('.ci/run', () => {
  it(`runs the README's test command: ${TEST_COMMAND}`, () => {
    const commands = read('.ci/run')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    assert.ok(commands.includes(TEST_COMMAND), `.ci/run must run \`${TEST_COMMAND}\` as a command, got:\n${commands.join('\n')}`);
  });
});
