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

describe('docs/errors.md', () => {
  const errors = read('docs/errors.md');

  it('lists every DataChannelErrorCode value in backticks', () => {
    const missing = Object.values(DataChannelErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every CallErrorCode value in backticks', () => {
    const missing = Object.values(CallErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every PeerCallEndCode value in backticks', () => {
    const missing = Object.values(PeerCallEndCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every StreamErrorCode value in backticks', () => {
    const missing = Object.values(StreamErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every IdentityApiErrorCode value in backticks', () => {
    const missing = Object.values(IdentityApiErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every ServerErrorCode value in backticks', () => {
    const missing = Object.values(ServerErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every AppMessageErrorCode value in backticks', () => {
    const missing = Object.values(AppMessageErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every FrameErrorCode value in backticks', () => {
    const missing = Object.values(FrameErrorCode).filter((code) => !errors.includes(`\`${code}\``));
    assert.deepEqual(missing, []);
  });

  it('lists every DropReason name in backticks', () => {
    const missing = Object.keys(DropReason).filter((name) => !errors.includes(`\`${name}\``));
    assert.deepEqual(missing, []);
  });
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
