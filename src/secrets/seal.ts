/**
 * Encryption of the secret values Gantry must record (values captured from responses, such as
 * a login's token): AES-256-GCM from node's crypto, with a key kept outside the database.
 *
 * The key is GANTRY_SECRET_KEY (32 bytes, as 64 hex digits or base64), or else the file
 * `secret.key` in the data folder, created on first use with mode 600. Every process that
 * executes runs of one database needs the same key: set GANTRY_SECRET_KEY on each machine when
 * several share a Postgres server.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealer {
  /** Where the key came from, for messages: "GANTRY_SECRET_KEY" or the key file's path. */
  readonly source: string;
  /** `value` as JSON, encrypted and authenticated: `v1.<base64 of iv, tag, ciphertext>`. */
  seal(value: unknown): string;
  /** The value sealed; throws SealError when the text was not sealed with this key. */
  unseal(text: string): unknown;
}

export class SealError extends Error {
  override name = "SealError";
}

/** The sealer of a data folder: its key from GANTRY_SECRET_KEY or `<dataDir>/secret.key`. */
export function openSealer(dataDir: string, env: NodeJS.ProcessEnv = process.env): Sealer {
  const given = env.GANTRY_SECRET_KEY;
  if (given !== undefined && given !== "")
    return sealerWith(parseKey(given, "GANTRY_SECRET_KEY"), "GANTRY_SECRET_KEY");
  const file = path.join(dataDir, "secret.key");
  return sealerWith(keyFile(file), file);
}

export function sealerWith(key: Buffer, source: string): Sealer {
  return {
    source,
    seal(value) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(value ?? null), "utf8"), cipher.final()]);
      return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64")}`;
    },
    unseal(text) {
      const [version, data] = text.split(".", 2);
      if (version !== VERSION || !data) throw new SealError("not a value sealed by Gantry");
      const raw = Buffer.from(data, "base64");
      if (raw.length < IV_BYTES + TAG_BYTES) throw new SealError("a sealed value is cut short");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
        return JSON.parse(plain.toString("utf8"));
      } catch {
        throw new SealError(
          `a recorded secret value cannot be decrypted with the key from ${source}: it was sealed with another key (was GANTRY_SECRET_KEY changed, or the data folder's secret.key replaced?)`,
        );
      }
    },
  };
}

function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t, "base64");
  if (key.length !== 32) {
    throw new SealError(
      `${where} must be 32 bytes, written as 64 hex digits or in base64 (make one with: openssl rand -hex 32); it decodes to ${key.length} bytes`,
    );
  }
  return key;
}

/** Reads the key file, creating it (mode 600) when there is none; refuses one others can read. */
function keyFile(file: string): Buffer {
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new SealError(
        `${file} can be read by other users (mode ${mode.toString(8)}); make it private with: chmod 600 ${file}`,
      );
    }
    return parseKey(fs.readFileSync(file, "utf8"), file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  try {
    fs.writeFileSync(file, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    // Another process created it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return keyFile(file);
    throw e;
  }
  return key;
}
