/**
 * Certificates for TLS tests: a test CA and leaf certificates with chosen validity dates and
 * names, signed by the CA or self-signed. node-forge builds the certificates; keys and
 * signatures come from node:crypto, which is much faster than forge's RSA in JavaScript.
 * Keys are generated once per process and shared: one for the CA, one for every leaf.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import forge from "node-forge";

const DAY = 24 * 60 * 60 * 1000;

interface KeyPair {
  /** The private key, PEM (PKCS#1). */
  pem: string;
  publicKey: forge.pki.rsa.PublicKey;
}

const keys = new Map<string, KeyPair>();

function keyPair(use: "ca" | "leaf"): KeyPair {
  let pair = keys.get(use);
  if (!pair) {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
    });
    pair = { pem: privateKey, publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey };
    keys.set(use, pair);
  }
  return pair;
}

/** A certificate and its private key, PEM-encoded, ready for tls.createServer. */
export interface Issued {
  cert: string;
  key: string;
}

export interface Authority extends Issued {
  name: string;
  certificate: forge.pki.Certificate;
}

export interface LeafOptions {
  /** Common name; also the first DNS name. */
  name: string;
  /** More DNS names for subjectAltName. */
  dns?: string[];
  /** IP addresses for subjectAltName, e.g. 127.0.0.1. */
  ips?: string[];
  /** Days from now (negative: in the past). Defaults: -1 and 90. */
  notBefore?: number;
  notAfter?: number;
  /** Signed by this CA; without one the certificate is self-signed. */
  ca?: Authority;
}

let serial = 1;

function certificate(
  name: string,
  publicKey: forge.pki.rsa.PublicKey,
  notBefore: number,
  notAfter: number,
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = (serial++).toString(16).padStart(2, "0");
  cert.validity.notBefore = new Date(Date.now() + notBefore * DAY);
  cert.validity.notAfter = new Date(Date.now() + notAfter * DAY);
  cert.setSubject([{ name: "commonName", value: name }]);
  return cert;
}

/** A CA valid from yesterday for ten years. */
export function testCa(name = "Gantry Test CA"): Authority {
  const pair = keyPair("ca");
  const cert = certificate(name, pair.publicKey, -1, 3650);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  signWith(cert, pair);
  return { name, certificate: cert, cert: forge.pki.certificateToPem(cert), key: pair.pem };
}

/** A server certificate for `name` (and `dns`, `ips`), signed by `ca` or self-signed. */
export function leaf(options: LeafOptions): Issued {
  const pair = keyPair("leaf");
  const cert = certificate(options.name, pair.publicKey, options.notBefore ?? -1, options.notAfter ?? 90);
  const altNames = [
    ...[options.name, ...(options.dns ?? [])].map((value) => ({ type: 2, value })),
    ...(options.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames },
  ]);
  cert.setIssuer(options.ca ? options.ca.certificate.subject.attributes : cert.subject.attributes);
  signWith(cert, options.ca ? keyPair("ca") : pair);
  return { cert: forge.pki.certificateToPem(cert), key: pair.pem };
}

/** Part of forge's API that its types leave out. */
const pki = forge.pki as typeof forge.pki & {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

/** What forge's cert.sign() does, with the RSA signature made natively (SHA-256). */
function signWith(cert: forge.pki.Certificate, signer: KeyPair): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  const tbs = forge.asn1.toDer(pki.getTBSCertificate(cert)).getBytes();
  cert.signature = sign("sha256", Buffer.from(tbs, "binary"), signer.pem).toString("binary");
}
