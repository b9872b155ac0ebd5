/**
 * The proofs two cluster nodes exchange on a link (packages/server/src/cluster/linkProof.ts): bound to the
 * role, the node, the TLS session and the token secret, so that none can be replayed elsewhere.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { linkProof, proofMatches } from '../../packages/server/src/cluster/linkProof.js';

const SECRET = 'a-cluster-token-secret-0123456789abcdef';
const binding = Buffer.alloc(32, 7);

describe('cluster link proofs', () => {
  it('are the HMAC-SHA256 of role, node id and the session binding under the token secret (base64url)', () => {
    const expected = createHmac('sha256', SECRET).update('backchannel-node-link:caller:node-a:').update(binding).digest('base64url');
    assert.equal(linkProof(SECRET, 'caller', 'node-a', binding), expected);
  });

  it('differ with the role, the node, the session and the secret', () => {
    const proof = linkProof(SECRET, 'caller', 'node-a', binding);
    assert.notEqual(linkProof(SECRET, 'listener', 'node-a', binding), proof, 'a caller proof is no listener proof');
    assert.notEqual(linkProof(SECRET, 'caller', 'node-b', binding), proof, 'a proof names its node: it is no proof for another id');
    assert.notEqual(linkProof(SECRET, 'caller', 'node-a', Buffer.alloc(32, 8)), proof, 'a proof from another session is worthless');
    assert.notEqual(linkProof(`${SECRET}x`, 'caller', 'node-a', binding), proof, 'another deployment’s secret gives another proof');
  });

  it('are compared in full, and only with strings', () => {
    const proof = linkProof(SECRET, 'caller', 'node-a', binding);
    assert.equal(proofMatches(proof, proof), true);
    assert.equal(proofMatches(proof, `${proof}A`), false);
    assert.equal(proofMatches(proof, proof.slice(0, -1)), false);
    assert.equal(proofMatches(proof, ''), false);
    for (const notAString of [undefined, null, 42, { proof }, [proof]]) assert.equal(proofMatches(proof, notAString), false);
  });
});
