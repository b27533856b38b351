/**
 * Masking secret values in text. `masker(values)` builds, once, a function `(text) => text`
 * that replaces every secret with MASK, in the forms a secret takes on its way out:
 *
 * - as written, in upper and lower case (ASCII letters match case-insensitively);
 * - base64 and base64url in the three alignments a value can have inside a larger encoded
 *   blob (the characters its own bytes determine), and the whole padded base64;
 * - URL-encoded (encodeURIComponent, `+` for spaces, HTML-form encoding), JSON-escaped (the
 *   JSON.stringify form, with `\/`, with non-ASCII as `\uXXXX`, and every character as
 *   `\uXXXX`), hex;
 * - a URL's user-info and password (raw and decoded) as secrets of their own, its scheme,
 *   user name, host, port and path left visible; a `password=` in a key=value connection
 *   string; each line of a multi-line secret that looks like a token (a PEM key's lines);
 * - pieces of token-like values: any 8 characters of the value in a row (see isTokenLike and
 *   windowKind for which values and which 8-character windows), so a secret cut across two
 *   lines is masked on both; likewise any 8 characters of its base64 forms.
 *
 * Values shorter than MIN_SECRET_LENGTH are not masked: masking `1` or `abc` would shred
 * ordinary output (and show where the value occurs anyway); such a value is no secret.
 * Overlapping and touching matches merge into one mask.
 *
 * Speed: the table of pieces and of the first 8 characters of every form is built once. A
 * line is lower-cased once and scanned once: a rolling hash of each 8-character window is
 * tested against a bitmap, and only the rare hits look up the table and check the piece or
 * form in full. Forms shorter than 8 characters (from values of 4 to 7) are found with
 * indexOf. With 20 secrets this costs about 1 µs for a 100-character line holding none,
 * a few µs for a line holding one (bench/masking.ts).
 */

export const MASK = "•••";
/** Shorter values are not masked (see above). */
export const MIN_SECRET_LENGTH = 4;
/** The length of a piece, and of the windows the scan looks up. */
export const PIECE = 8;
/** Encoded fragments (base64 of a short value at an offset) shorter than this are not masked. */
const MIN_FRAGMENT = 6;

/**
 * A URL's secret parts, when the value is one: its user-info (`user:password` as written)
 * and its password (as written, percent-encoded, and decoded), and query values that name
 * or look like credentials. `undefined` when the value is not a URL with an authority.
 */
export function urlParts(
  value: string,
): { userinfo?: string; parts: string[]; hasPassword: boolean } | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(value);
  if (!m) return undefined;
  const authority = m[1]!;
  const parts: string[] = [];
  const at = authority.lastIndexOf("@");
  let hasPassword = false;
  let userinfo: string | undefined;
  if (at >= 0) {
    const info = authority.slice(0, at);
    const colon = info.indexOf(":");
    if (colon >= 0 && colon < info.length - 1) {
      hasPassword = true;
      userinfo = info;
      const password = info.slice(colon + 1);
      parts.push(password, decoded(password));
    }
  }
  const query = value.indexOf("?");
  if (query >= 0) {
    const search = value.slice(query + 1).split("#")[0]!;
    for (const pair of search.split("&")) {
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const key = decoded(pair.slice(0, eq));
      const raw = pair.slice(eq + 1);
      if (/pass|secret|token|key|auth|sig|cred/i.test(key) || isTokenLike(decoded(raw), 16)) {
        parts.push(raw, decoded(raw.replaceAll("+", " ")));
      }
    }
  }
  const pathname = value.slice(m[0].length).split(/[?#]/)[0]!;
  for (const segment of pathname.split("/")) if (isTokenLike(decoded(segment), 16)) parts.push(segment);
  return userinfo === undefined ? { parts, hasPassword } : { userinfo, parts, hasPassword };
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * One value to mask; whether its pieces are masked too; `encodedOnly`: only its base64
 * forms (a URL's user-info, as sent in a Basic Authorization header; as written, its
 * password is masked and its user name stays visible).
 */
export interface Part {
  text: string;
  pieces: boolean;
  encodedOnly?: boolean;
}

/**
 * The values to mask for one secret: the value itself, or for a URL with a password (of 4
 * characters or more) its secret parts only (so `postgres://app:•••@db.internal:5432/shop`
 * stays readable); plus
 * the password of a key=value connection string and the token-like lines of a multi-line
 * value. Pieces are masked for token-like parts, never for a URL's user-info (its user name
 * is not secret; the password inside it has pieces of its own).
 */
export function secretParts(value: string): Part[] {
  const out = new Map<string, Part>();
  const add = (text: string, pieces = isTokenLike(text), encodedOnly = false) => {
    if (text.length < MIN_SECRET_LENGTH) return;
    const had = out.get(text);
    out.set(text, {
      text,
      pieces: pieces || (had?.pieces ?? false),
      ...(encodedOnly && (had?.encodedOnly ?? true) ? { encodedOnly: true } : {}),
    });
  };
  const url = urlParts(value);
  if (url) {
    // Masked whole when it has no password to mask, or one too short to mask on its own.
    if (!url.hasPassword || url.parts[0]!.length < MIN_SECRET_LENGTH) add(value);
    if (url.userinfo) {
      add(url.userinfo, false, true);
      add(decoded(url.userinfo), false, true);
    }
    for (const p of url.parts) add(p);
  } else {
    add(value);
    const kv = /(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/i.exec(value);
    if (kv) {
      const v = kv[1]!;
      add(v);
      if (v.startsWith("'")) add(v.slice(1, -1).replace(/\\(.)/g, "$1"));
    }
  }
  if (value.includes("\n")) {
    for (const line of value.split(/\r?\n/)) if (isTokenLike(line.trim())) add(line.trim());
  }
  return [...out.values()];
}

/**
 * Whether a value looks machine-generated, so that its pieces are masked too: at least
 * `minLength` characters (10 by default), no white space, not a URL, and at least 3 bits
 * of Shannon entropy per character over its own characters. A random token of 10 or more
 * characters scores 3.1 to 6; a repeated or word-built password (`hunter2hunter2`: 2.8)
 * scores under 3, a passphrase with spaces has white space.
 */
export function isTokenLike(value: string, minLength = 10): boolean {
  if (value.length < minLength || /\s/.test(value) || /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return false;
  return entropy(value) >= 3;
}

/** Shannon entropy of the value's own character distribution, in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  const n = [...value].length;
  let bits = 0;
  for (const k of counts.values()) bits -= (k / n) * Math.log2(k / n);
  return bits;
}

/**
 * Which 8-character windows of a token-like value count as pieces, and how they match:
 * - `skip`: ordinary text. No letters (numbers, dates, times, versions, addresses); or no
 *   digit and every letter run lower-case, upper-case or Capitalized (words, snake-, kebab-
 *   and dotted words, host names, CONSTANTS: `released`, `db.inter`, `sk_live_`, `Content-`);
 *   or it holds a quote or a backslash (it could only match across a JSON string's edge).
 * - `exact`: letters in mixed case without a digit (`_live_CA`, `PassWord`): matched in its
 *   own case only, so its lower-case form, an ordinary word, is never masked.
 * - `any-case`: letters and digits (`RY_abc12`): matched case-insensitively.
 */
export function windowKind(window: string): "skip" | "exact" | "any-case" {
  if (/["'\\`]/.test(window)) return "skip";
  const runs = window.match(/[A-Za-z]+/g);
  if (!runs) return "skip";
  if (/[0-9]/.test(window)) return "any-case";
  const wordy = (run: string) => /^[a-z]+$/.test(run) || /^[A-Z][a-z]*$/.test(run);
  if (runs.every(wordy) || runs.every((r) => /^[A-Z]+$/.test(r))) return "skip";
  return "exact";
}

/** The characters of `bytes` encoded at offset k (0, 1, 2) that its own bytes determine. */
function fragments(bytes: Buffer, encoding: "base64" | "base64url"): string[] {
  const out: string[] = [];
  for (const k of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(k), bytes]).toString(encoding);
    out.push(encoded.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6)));
  }
  return out;
}

/** The forms of one value: `anyCase` ones match case-insensitively, `exact` ones as they are. */
export function forms(value: string): { anyCase: string[]; exact: string[] } {
  const json = JSON.stringify(value).slice(1, -1);
  const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  const anyCase = [
    value,
    value.toUpperCase(),
    value.toLowerCase(),
    encodeURIComponent(value),
    encodeURIComponent(value).replaceAll("%20", "+"),
    new URLSearchParams({ v: value }).toString().slice(2),
    json,
    json.replaceAll("/", "\\/"),
    json.replace(/[^\x20-\x7e]/g, hex4),
    value.split("").map(hex4).join(""),
    Buffer.from(value).toString("hex"),
  ];
  const bytes = Buffer.from(value);
  const exact = [
    bytes.toString("base64"),
    ...fragments(bytes, "base64"),
    ...fragments(bytes, "base64url"),
  ].filter((f) => f.length >= MIN_FRAGMENT);
  return {
    anyCase: [...new Set(anyCase.filter((f) => f.length >= MIN_SECRET_LENGTH))],
    exact: [...new Set(exact)],
  };
}

/** What an 8-character window (lower-cased) may start: pieces and forms to check there. */
interface Entry {
  /** The window, lower-cased. */
  key: string;
  /** A piece matched in any case: the window itself. */
  piece: boolean;
  /** Pieces matched in their own case. */
  exactPieces: string[];
  /** Forms (lower-cased) beginning with this window, matched in any case. */
  anyCase: string[];
  /** Forms beginning with this window, matched as they are. */
  exact: string[];
}

/**
 * The masking function for these secret values (see the file's comment). The tables are
 * built on first use (a few ms for 20 secrets), so a scope whose output is never masked
 * does not pay for them.
 */
export function masker(values: Iterable<string>): (text: string) => string {
  const list = [...values].filter((v) => v.length >= MIN_SECRET_LENGTH);
  if (list.length === 0) return (text) => text;
  let mask: ((text: string) => string) | undefined;
  return (text) => {
    mask ??= build(list);
    return mask(text);
  };
}

function build(values: string[]): (text: string) => string {
  const table = new Map<string, Entry>();
  const shortAnyCase = new Set<string>();
  const shortExact = new Set<string>();
  /** The entry for the first 8 characters of `start` (a piece or a form). */
  const entry = (start: string): Entry => {
    const key = fold(start.slice(0, PIECE));
    let e = table.get(key);
    if (!e) {
      e = { key, piece: false, exactPieces: [], anyCase: [], exact: [] };
      table.set(key, e);
    }
    return e;
  };
  const addPieces = (text: string, anyCaseAllowed: boolean) => {
    for (let i = 0; i + PIECE <= text.length; i++) {
      const w = text.slice(i, i + PIECE);
      const kind = windowKind(w);
      if (kind === "skip") continue;
      const e = entry(w);
      if (kind === "any-case" && anyCaseAllowed) e.piece = true;
      else if (!e.exactPieces.includes(w)) e.exactPieces.push(w);
    }
  };
  let any = false;
  for (const value of new Set(values)) {
    for (const part of secretParts(value)) {
      any = true;
      const f = forms(part.text);
      if (part.encodedOnly) f.anyCase = [];
      for (const form of f.anyCase) {
        const folded = fold(form);
        if (form.length < PIECE) shortAnyCase.add(folded);
        else {
          const e = entry(folded);
          if (!e.anyCase.includes(folded)) e.anyCase.push(folded);
        }
      }
      for (const form of f.exact) {
        if (form.length < PIECE) shortExact.add(form);
        else {
          const e = entry(form);
          if (!e.exact.includes(form)) e.exact.push(form);
        }
      }
      if (part.pieces) {
        addPieces(part.text, true);
        for (const fragment of f.exact) addPieces(fragment, false);
      }
    }
  }
  if (!any) return (text) => text;
  // A bit per hash slot of the table's windows: most windows of a line stop at one bit test;
  // the rest find their entries by hash, with no string made.
  const bitmap = new Uint32Array(SLOTS / 32);
  const byHash = new Map<number, Entry[]>();
  for (const [key, e] of table) {
    const h = hashAt(key, 0);
    const at = slot(h);
    bitmap[at >>> 5]! |= 1 << (at & 31);
    const list = byHash.get(h & SMI);
    if (list) list.push(e);
    else byHash.set(h & SMI, [e]);
  }
  const anyShort = [...shortAnyCase];
  const exactShort = [...shortExact];

  return (text) => {
    if (text.length < MIN_SECRET_LENGTH) return text;
    const folded = fold(text);
    // Masked intervals as [start, end) pairs; the scan finds them in order of start and
    // merges as it goes.
    const spans: number[] = [];
    const last = text.length - PIECE;
    let h = last >= 0 ? hashAt(folded, 0) : 0;
    for (let i = 0; i <= last; i++) {
      if (i > 0) h = roll(h, folded.charCodeAt(i - 1), folded.charCodeAt(i + PIECE - 1));
      const at = slot(h);
      if ((bitmap[at >>> 5]! & (1 << (at & 31))) === 0) continue;
      const list = byHash.get(h & SMI);
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k++) {
        const e = list[k]!;
        if (!at8(folded, e.key, i)) continue;
        if (e.piece) merge(spans, i, i + PIECE);
        for (let j = 0; j < e.exactPieces.length; j++) {
          if (at8(text, e.exactPieces[j]!, i)) merge(spans, i, i + PIECE);
        }
        for (let j = 0; j < e.anyCase.length; j++) {
          const f = e.anyCase[j]!;
          if (folded.startsWith(f, i)) merge(spans, i, i + f.length);
        }
        for (let j = 0; j < e.exact.length; j++) {
          const f = e.exact[j]!;
          if (text.startsWith(f, i)) merge(spans, i, i + f.length);
        }
      }
    }
    // Short forms, found out of order: merged with the rest by sorting (short secrets only).
    const short: number[] = [];
    for (const f of anyShort) {
      for (let at = folded.indexOf(f); at >= 0; at = folded.indexOf(f, at + 1)) short.push(at, at + f.length);
    }
    for (const f of exactShort) {
      for (let at = text.indexOf(f); at >= 0; at = text.indexOf(f, at + 1)) short.push(at, at + f.length);
    }
    if (short.length > 0) return applySpans(text, sortedMerge([...spans, ...short]));
    return spans.length === 0 ? text : applySpans(text, spans);
  };
}

// A rolling hash of 8 UTF-16 code units, so the scan hashes each window in O(1).
const BASE = 257;
let BASE_POW = 1; // BASE ** (PIECE - 1), modulo 2 ** 32
for (let i = 1; i < PIECE; i++) BASE_POW = Math.imul(BASE_POW, BASE);
const SLOTS = 1 << 20;
/** Keeps hash keys small integers, which Map looks up fastest. */
const SMI = 0x3fffffff;

function hashAt(text: string, at: number): number {
  let h = 0;
  for (let j = 0; j < PIECE; j++) h = (Math.imul(h, BASE) + text.charCodeAt(at + j)) | 0;
  return h;
}

/** The hash of the window one further on: `out` leaves it, `add` joins it. */
function roll(h: number, out: number, add: number): number {
  return (Math.imul(h - Math.imul(out, BASE_POW), BASE) + add) | 0;
}

/** A hash's slot in the bitmap (its top 20 bits after mixing). */
function slot(h: number): number {
  return Math.imul(h, 0x9e3779b1) >>> 12;
}

/** Whether `text` has the 8 characters of `word` at `at` (cheaper than startsWith here). */
function at8(text: string, word: string, at: number): boolean {
  for (let j = 0; j < PIECE; j++) if (text.charCodeAt(at + j) !== word.charCodeAt(j)) return false;
  return true;
}

/**
 * The text lower-cased, keeping its length so that positions stay the same: the few
 * characters that grow when lower-cased (`İ`) are kept as they are.
 */
function fold(text: string): string {
  const folded = text.toLowerCase();
  if (folded.length === text.length) return folded;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const l = c.toLowerCase();
    out += l.length === 1 ? l : c;
  }
  return out;
}

/** Adds [start, end) to merged spans whose last start is at most `start`. */
function merge(spans: number[], start: number, end: number): void {
  const n = spans.length;
  if (n > 0 && start <= spans[n - 1]!) {
    if (end > spans[n - 1]!) spans[n - 1] = end;
  } else spans.push(start, end);
}

/** Spans in any order, sorted and merged (overlapping or touching ones become one). */
function sortedMerge(spans: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < spans.length; i += 2) pairs.push([spans[i]!, spans[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [start, end] of pairs) merge(out, start, end);
  return out;
}

/** Replaces each of the merged spans with one mask. */
function applySpans(text: string, spans: number[]): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < spans.length; i += 2) {
    out += text.slice(from, spans[i]) + MASK;
    from = spans[i + 1]!;
  }
  return out + text.slice(from);
}
