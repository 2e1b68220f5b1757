/**
 * The CA certificates the server trusts, read from the configured PEM bundles: those signatures must chain to
 * (SMIME_TRUST_ANCHORS, optionally Node's bundled roots, the demo CA in demo mode), and those the directory's
 * certificates must chain to before anyone encrypts to them (SMIME_DIRECTORY_TRUST_ANCHORS, issue 12; by default the
 * same). A bundle that cannot be read, holds no certificate or something that is not one is a configuration error.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { ConfigError, type Config } from './config.ts';
import { pemToDer } from './smime/index.ts';

function bundle(path: string, setting: string): Uint8Array[] {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let certificates: Uint8Array[];
  try {
    certificates = pemToDer(pem);
  } catch {
    throw new ConfigError(`${setting}: ${path} holds a block that is not a certificate`);
  }
  // A bundle that names no CA would trust nothing while looking configured: a wrong file, said at start-up.
  if (certificates.length === 0) throw new ConfigError(`${setting}: ${path} holds no certificate`);
  return certificates;
}

/** The anchors of signature verification. */
export function signatureTrustAnchors(config: Config): Uint8Array[] {
  const anchors: Uint8Array[] = [];
  if (config.SMIME_TRUST_ANCHORS) anchors.push(...bundle(config.SMIME_TRUST_ANCHORS, 'SMIME_TRUST_ANCHORS'));
  if (config.SMIME_TRUST_SYSTEM_ROOTS) for (const pem of rootCertificates) anchors.push(...pemToDer(pem));
  // Demo mode (issue 5): the demo CA that issued the demo users' certificates.
  if (config.demoTrustAnchorsFile) anchors.push(...bundle(config.demoTrustAnchorsFile, 'the demo CA'));
  return anchors;
}

/**
 * The anchors a directory certificate must chain to: the directory's issuing CAs when configured (an organisation
 * usually wants its own CA alone here, not every public CA it accepts signatures from), else the signature anchors.
 */
export function directoryTrustAnchors(config: Config): Uint8Array[] {
  return config.SMIME_DIRECTORY_TRUST_ANCHORS
    ? bundle(config.SMIME_DIRECTORY_TRUST_ANCHORS, 'SMIME_DIRECTORY_TRUST_ANCHORS')
    : signatureTrustAnchors(config);
}
