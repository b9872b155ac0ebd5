/** The server's shared DTLS certificate: generated once, or read from PEM files and checked. */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { ServerErrorCode } from '@backchannel/protocol';

import { resolveConfig } from '../../packages/server/src/config.js';
import { ConfigError } from '../../packages/server/src/errors.js';
import { generateRtcCertificate, loadRtcCertificate } from '../../packages/server/src/rtc/certificate.js';

const dir = mkdtempSync(join(tmpdir(), 'backchannel-rtc-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function assertConfigError(error: unknown, key: string, pattern: RegExp): true {
  assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
  assert.equal(error.code, ServerErrorCode.InvalidConfiguration);
  assert.equal(error.key, key);
  assert.match(error.message, pattern);
  return true;
}

describe('generateRtcCertificate', () => {
  it('makes a self-signed X.509 v3 certificate for a new ECDSA P-256 key, valid now, with its SHA-256 fingerprint', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const generated = generateRtcCertificate(now);
    const certificate = new X509Certificate(generated.certPem);
    const key = createPrivateKey(generated.keyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(certificate.checkPrivateKey(key), 'the key is the certificate’s');
    assert.ok(certificate.verify(certificate.publicKey), 'self-signed: its own key verifies it');
    assert.equal(certificate.subject, 'CN=backchannel');
    assert.equal(certificate.issuer, certificate.subject);
    assert.ok(new Date(certificate.validFrom) < now && now < new Date(certificate.validTo));
    assert.equal(generated.fingerprint, certificate.fingerprint256);
    assert.match(generated.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    // libdatachannel takes PEM text for a file name when it holds this marker (SharedRtc relies on it).
    assert.ok(generated.certPem.includes('-----BEGIN CERTIFICATE-----'));
  });

  it('makes a new key each time (one per server, not one for every server)', () => {
    assert.notEqual(generateRtcCertificate().fingerprint, generateRtcCertificate().fingerprint);
  });

  it('writes GeneralizedTime for dates from 2050, which X.509 readers accept', () => {
    const certificate = new X509Certificate(generateRtcCertificate(new Date('2049-12-31T12:00:00Z')).certPem);
    assert.equal(new Date(certificate.validTo).getUTCFullYear(), 2050);
  });
});

describe('loadRtcCertificate', () => {
  const a = generateRtcCertificate();
  const b = generateRtcCertificate();
  const certA = write('a.crt', a.certPem);
  const keyA = write('a.key', a.keyPem);
  const keyB = write('b.key', b.keyPem);

  it('reads a certificate and its key from PEM files', async () => {
    const loaded = await loadRtcCertificate(certA, keyA);
    assert.deepEqual(loaded, a);
  });

  it('refuses a key that is not the certificate’s, naming the key file', async () => {
    await assert.rejects(loadRtcCertificate(certA, keyB), (error) => assertConfigError(error, 'rtcKeyFile', /is not the key of the certificate/));
  });

  it('refuses files it cannot read or parse, naming each', async () => {
    await assert.rejects(loadRtcCertificate(join(dir, 'missing.crt'), keyA), (error) => assertConfigError(error, 'rtcCertFile', /cannot read it/));
    await assert.rejects(loadRtcCertificate(keyA, keyA), (error) => assertConfigError(error, 'rtcCertFile', /not a PEM certificate/));
    const broken = write('broken.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await assert.rejects(loadRtcCertificate(broken, keyA), (error) => assertConfigError(error, 'rtcCertFile', /not a readable certificate/));
    await assert.rejects(loadRtcCertificate(certA, certA), (error) => assertConfigError(error, 'rtcKeyFile', /not a readable private key/));
  });
});

describe('the RTC configuration keys', () => {
  it('default to one UDP mux port chosen at start and a generated certificate', () => {
    const config = resolveConfig({});
    assert.deepEqual([config.rtcUdpMux, config.rtcPort, config.rtcCertFile, config.rtcKeyFile], [true, 0, undefined, undefined]);
  });

  it('refuse a mux port without the mux, a certificate without its key, and a port out of range', () => {
    assert.throws(() => resolveConfig({ rtcUdpMux: false, rtcPort: 40000 }), (error) => assertConfigError(error, 'rtcPort', /needs rtcUdpMux/));
    assert.throws(() => resolveConfig({ rtcCertFile: '/x.crt' }), (error) => assertConfigError(error, 'rtcCertFile', /both rtcCertFile and rtcKeyFile/));
    assert.throws(() => resolveConfig({ rtcPort: 70000 }), (error) => assertConfigError(error, 'rtcPort', /./));
    assert.equal(resolveConfig({ rtcUdpMux: false }).rtcUdpMux, false);
  });
});
