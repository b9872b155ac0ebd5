/**
 * The DTLS certificate every peer connection of the server presents.
 *
 * Left to itself, libdatachannel makes a fresh key pair and self-signed certificate for every peer
 * connection: that is most of the JavaScript-thread time a join costs the server. WebRTC authenticates a
 * DTLS certificate by the fingerprint carried in the SDP, not by a CA, so one certificate serves every
 * connection as well: made once when the server starts (an ECDSA P-256 key, the curve RFC 8827 §6.5 makes
 * mandatory, in a self-signed X.509 v3 certificate), or read from the configured PEM files.
 *
 * node:crypto makes keys and signs, but writes no certificates: the few DER structures a self-signed
 * certificate needs are written here (RFC 5280 §4.1), which costs less than a dependency.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { ConfigError } from '../errors.js';

/** A certificate and its private key, PEM, and the certificate's SHA-256 fingerprint as SDP writes it. */
export interface RtcCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** `AB:CD:…`, uppercase: the value of `a=fingerprint:sha-256` in the server's answers. */
  readonly fingerprint: string;
}

/** Common name of a generated certificate (no one checks it: the fingerprint is what counts). */
const COMMON_NAME = 'backchannel';
/** Validity of a generated certificate. Browsers ignore it for DTLS; a long-running server still should not outlive it. */
const VALIDITY_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A new ECDSA P-256 key and a self-signed certificate for it, valid from a day ago for a year. */
export function generateRtcCertificate(now: Date = new Date()): RtcCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = selfSignedCertificate(privateKey, publicKey, new Date(now.getTime() - DAY_MS), new Date(now.getTime() + VALIDITY_DAYS * DAY_MS));
  const certPem = toPem('CERTIFICATE', der);
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem, fingerprint: new X509Certificate(der).fingerprint256 };
}

/**
 * The certificate and key in two PEM files (`rtcCertFile`, `rtcKeyFile`), checked: both parse, and the key
 * is the certificate's. Throws {@link ConfigError} naming the file at fault.
 */
export async function loadRtcCertificate(certFile: string, keyFile: string): Promise<RtcCertificate> {
  const read = (key: string, file: string): Promise<string> =>
    readFile(file, 'utf8').catch((error: unknown) => {
      throw new ConfigError(key, file, `cannot read it: ${(error as Error).message}`);
    });
  const [certPem, keyPem] = await Promise.all([read('rtcCertFile', certFile), read('rtcKeyFile', keyFile)]);
  return parseRtcCertificate(certPem, keyPem, { cert: certFile, key: keyFile });
}

/** Checks a PEM certificate and key (see {@link loadRtcCertificate}); `names` say where they came from, for errors. */
export function parseRtcCertificate(certPem: string, keyPem: string, names: { cert: string; key: string }): RtcCertificate {
  // libdatachannel tells PEM text from a file name by this marker (see SharedRtc).
  if (!certPem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('rtcCertFile', names.cert, 'not a PEM certificate');
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch (error) {
    throw new ConfigError('rtcCertFile', names.cert, `not a readable certificate: ${(error as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new ConfigError('rtcKeyFile', names.key, `not a readable private key (an encrypted key is not supported): ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) throw new ConfigError('rtcKeyFile', names.key, `is not the key of the certificate in ${names.cert}`);
  return { certPem, keyPem, fingerprint: certificate.fingerprint256 };
}

// ------------------------------------------------------------------------------------------------ DER

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';

function selfSignedCertificate(privateKey: KeyObject, publicKey: KeyObject, notBefore: Date, notAfter: Date): Buffer {
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER
  serial[0]! |= 0x01; // and no leading zero byte to strip
  const algorithm = sequence(oid(OID_ECDSA_WITH_SHA256)); // no parameters for ECDSA (RFC 5758 §3.2)
  const name = sequence(set(sequence(oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(COMMON_NAME, 'utf8')))));
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.of(2))), // [0] EXPLICIT version: v3
    integer(serial),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants it
  return sequence(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.of(0), signature])));
}

function tlv(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.of(tag, length);
  else if (length < 0x100) header = Buffer.of(tag, 0x81, length);
  else header = Buffer.of(tag, 0x82, length >> 8, length & 0xff); // certificates here stay far below 64 KiB
  return Buffer.concat([header, content]);
}

const sequence = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts));
const integer = (bytes: Buffer): Buffer => tlv(0x02, bytes);

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const base128 = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) base128.unshift((v & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z';
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
