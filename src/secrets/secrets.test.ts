import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRunbookText } from "../runbook/load.js";
import { entropy, isTokenLike, masker, secretParts, windowKind } from "./mask.js";
import { redactor, resolveSecrets, secretsUsed } from "./secrets.js";

const TOKEN = "sk_live_CANARY_abc123";
const DB_URL = "postgres://app:pgPassCANARY99%21x@db.internal:5432/shop";
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
const b64url = (s: string | Buffer) => Buffer.from(s).toString("base64url");
const allEscaped = (s: string, upper = false) =>
  s
    .split("")
    .map((c) => {
      const hex = c.charCodeAt(0).toString(16).padStart(4, "0");
      return `\\u${upper ? hex.toUpperCase() : hex}`;
    })
    .join("");

/** The secrets of the attacker's test, plus two that are not token-like. */
const redact = redactor([TOKEN, DB_URL, "hunter2hunter2", "correct horse battery staple"]);

test("redactor masks every occurrence, longest value first", () => {
  const r = redactor(["abcd1234", "abcd1234-long", "xy"]);
  assert.equal(r("a=abcd1234-long b=abcd1234 c=xy"), "a=••• b=••• c=xy");
  assert.equal(redactor([])("nothing to hide"), "nothing to hide");
});

test("secretsUsed finds the secrets a template refers to", () => {
  assert.deepEqual(secretsUsed("curl -H 'x: {{ secrets.api_token }}' {{ secrets.db-url }}"), [
    "api_token",
    "db-url",
  ]);
});

describe("masking: the value as written and in its case variants", () => {
  test("as written, anywhere in a line, every occurrence", () => {
    assert.equal(redact(`token=${TOKEN}; again ${TOKEN}.`), "token=•••; again •••.");
  });

  test("upper case, lower case and mixed case", () => {
    assert.equal(redact(`T=${TOKEN.toUpperCase()}`), "T=•••");
    assert.equal(redact(`t=${TOKEN.toLowerCase()}`), "t=•••");
    assert.equal(redact("t=Sk_LiVe_canary_ABC123"), "t=•••");
    // Beyond ASCII: the value's own upper and lower case.
    const r = redactor(["Straße-Zürich-9x"]);
    assert.equal(r("a STRASSE-ZÜRICH-9X b"), "a ••• b");
    assert.equal(r("a straße-zürich-9x b"), "a ••• b");
  });

  test("values shorter than 4 characters are not masked; 4 are", () => {
    const r = redactor(["abc", "1", "wxyz"]);
    assert.equal(r("abc 1 10 wxyz WXYZ"), "abc 1 10 ••• •••");
  });
});

describe("masking: encoded forms", () => {
  test("base64, whole and padded, as `base64` and `echo | base64` print it", () => {
    assert.equal(redact(b64(TOKEN)), "•••");
    assert.equal(redact(`  ${b64(`${TOKEN}\n`)}`), `  •••${b64(`${TOKEN}\n`).slice(-4)}`);
  });

  test("base64 and base64url at every offset inside a larger blob", () => {
    for (const encode of [b64, b64url]) {
      for (let before = 0; before <= 5; before++) {
        for (let after = 0; after <= 4; after++) {
          const blob = encode(
            Buffer.concat([Buffer.alloc(before, 0xfb), Buffer.from(TOKEN), Buffer.alloc(after, 0xff)]),
          );
          const masked = redact(`data: ${blob}`);
          assert.match(masked, /•••/, `offset ${before}: ${blob}`);
          // What is left is only what the bytes around the secret determine, plus the two
          // characters a secret's edge bytes share with them.
          const left = masked.replace("data: ", "").replace("•••", "").replaceAll("=", "").length;
          assert.ok(left <= Math.ceil((before * 4) / 3) + Math.ceil((after * 4) / 3) + 2, `${masked}`);
        }
      }
    }
  });

  test("a Basic Authorization header built from a URL's user-info, raw or decoded", () => {
    assert.equal(redact(`Authorization: Basic ${b64("app:pgPassCANARY99%21x")}`), "Authorization: Basic •••");
    assert.equal(redact(`Authorization: Basic ${b64("app:pgPassCANARY99!x")}`), "Authorization: Basic •••");
    // The user name alone, encoded, is not secret.
    assert.equal(redact(`user ${b64("app:")}`), `user ${b64("app:")}`);
  });

  test("URL-encoded: encodeURIComponent, + for spaces, form encoding", () => {
    const r = redactor(["p@ss w/rd!*(x)9"]);
    assert.equal(r(`?pw=${encodeURIComponent("p@ss w/rd!*(x)9")}&x=1`), "?pw=•••&x=1");
    assert.equal(r("?pw=p%40ss+w%2Frd!*(x)9&x=1"), "?pw=•••&x=1");
    assert.equal(r(`?${new URLSearchParams({ pw: "p@ss w/rd!*(x)9" })}&x=1`), "?pw=•••&x=1");
    assert.equal(r("?pw=p%40ss%20w%2frd!*(x)9"), "?pw=•••", "lower-case percent hex");
  });

  test("JSON-escaped: JSON.stringify, \\/ and every character as \\uXXXX in either hex case", () => {
    const tricky = 'q"uo\\te/d-Secret-42';
    const r = redactor([tricky, TOKEN]);
    assert.equal(r(JSON.stringify({ k: tricky })), '{"k":"•••"}');
    assert.equal(r(JSON.stringify({ k: tricky }).replaceAll("/", "\\/")), '{"k":"•••"}');
    assert.equal(r(`{"k":"${allEscaped(TOKEN)}"}`), '{"k":"•••"}');
    assert.equal(r(`{"k":"${allEscaped(TOKEN, true)}"}`), '{"k":"•••"}');
    // Non-ASCII escaped, the rest as is (Python's json.dumps).
    const r2 = redactor(["pässwörd-42"]);
    assert.equal(r2('{"pw": "p\\u00e4ssw\\u00f6rd-42"}'), '{"pw": "•••"}');
    // Masking inside JSON keeps it JSON, even for a value ending in a backslash: its
    // escaped form and its raw form start at the same place and merge into one mask.
    const slash = redactor(["abcd1234\\"]);
    assert.deepEqual(JSON.parse(slash(JSON.stringify({ x: "pre abcd1234\\ post" }))), { x: "pre ••• post" });
    assert.deepEqual(JSON.parse(r(JSON.stringify({ a: `x ${TOKEN} y`, b: [tricky] }))), {
      a: "x ••• y",
      b: ["•••"],
    });
  });

  test("hex, lower and upper case", () => {
    const hex = Buffer.from(TOKEN).toString("hex");
    assert.equal(redact(`hex ${hex} end`), "hex ••• end");
    assert.equal(redact(`HEX ${hex.toUpperCase()} END`), "HEX ••• END");
  });
});

describe("masking: URLs", () => {
  test("a database URL shows everything but its password", () => {
    assert.equal(redact(DB_URL), "postgres://app:•••@db.internal:5432/shop");
    assert.equal(
      redact(`psql ${DB_URL.replace("postgres:", "postgresql:")} -c 'select 1'`),
      "psql postgresql://app:•••@db.internal:5432/shop -c 'select 1'",
    );
  });

  test("the password raw (percent-encoded) and decoded is a secret of its own", () => {
    assert.equal(redact("pw=pgPassCANARY99%21x"), "pw=•••");
    assert.equal(redact("pw=pgPassCANARY99!x"), "pw=•••");
    assert.equal(redact(`pw=${b64("pgPassCANARY99!x")}`), "pw=•••");
    assert.equal(redact("PW=PGPASSCANARY99!X"), "PW=•••");
  });

  test("scheme, user name, host, port and path alone stay visible", () => {
    const line = "connecting to db.internal:5432/shop as app over postgres:// (user app)";
    assert.equal(redact(line), line);
  });

  test("a URL without a password is masked whole, as before; its tokens on their own too", () => {
    const hook = "https://hooks.slack.com/services/T024BE7LD/B01/Xq9vR2mPk7LwZt4sNc8yHj3e";
    const r = redactor([hook, "redis://cache.internal:6379/0"]);
    assert.equal(r(`posting to ${hook}`), "posting to •••");
    assert.equal(r("token Xq9vR2mPk7LwZt4sNc8yHj3e"), "token •••");
    assert.equal(r("cache redis://cache.internal:6379/0 up"), "cache ••• up");
    assert.equal(r("cache.internal:6379 and hooks.slack.com"), "cache.internal:6379 and hooks.slack.com");
    // A password too short to mask on its own: the URL is masked whole.
    assert.equal(
      redactor(["postgres://a:pw@db.internal/shop"])("url postgres://a:pw@db.internal/shop"),
      "url •••",
    );
  });

  test("credential query values, and the password of a key=value connection string", () => {
    const r = redactor([
      "https://api.example.com/v1?api_key=k3yVALUE77&region=eu",
      "host=db.internal user=app password='s3cr et!' dbname=shop",
    ]);
    assert.equal(r("key k3yVALUE77"), "key •••");
    assert.equal(r("region=eu api.example.com"), "region=eu api.example.com");
    assert.equal(r("password is s3cr et!"), "password is •••");
  });
});

describe("masking: pieces of token-like secrets", () => {
  test("a secret cut across lines is masked on both", () => {
    assert.equal(redact("sk_live_CA\nNARY_abc123"), "sk•••\n•••");
    assert.equal(redact("…NARY_abc1"), "…•••");
    // What stays visible: the public prefix, a lone separator, a part shorter than 8.
    assert.equal(redact("key: sk_live_CANARY_\n     abc123"), "key: sk•••_\n     abc123");
    // Any 8 characters in a row, in any case when they hold a digit.
    assert.equal(redact("x ry_abc12 y"), "x ••• y");
    assert.equal(redact("x ABC123 y"), "x ABC123 y", "7 characters are not a piece");
  });

  test("pieces of a URL's password, and of base64 cut across lines", () => {
    assert.equal(redact("pw=pgPassCA\nNARY99%21x"), "pw=•••\n•••");
    const wrapped = b64(`prefix:${TOKEN}:suffix`);
    const lines = [wrapped.slice(0, 20), wrapped.slice(20)];
    const masked = redact(lines.join("\n")).split("\n");
    for (const [i, l] of lines.entries()) assert.notEqual(masked[i], l, `line ${i}`);
  });

  test("a multi-line secret printed line by line: its token-like lines are masked", () => {
    const body = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"];
    const key = `-----BEGIN PRIVATE KEY-----\n${body.join("\n")}\n-----END PRIVATE KEY-----`;
    const r = redactor([key]);
    assert.equal(r(key), "•••");
    assert.deepEqual(key.split("\n").map(r), [
      "-----BEGIN PRIVATE KEY-----",
      "•••",
      "•••",
      "-----END PRIVATE KEY-----",
    ]);
  });

  test("words and host names in output are never masked, even when a secret holds them", () => {
    const r = redactor([
      TOKEN,
      "released-db.internal-Xk29ab7Q",
      "password_localhost.example.com_Zq81",
      "correct-horse-battery-staple",
    ]);
    const line = "released v2 to db.internal, localhost and example.com; password rotated; correct-horse";
    assert.equal(r(line), line);
    assert.equal(
      r("sk_live_ and sk_test_ keys; _CANARY_; Canary_Live"),
      "sk_live_ and sk_test_ keys; _CANARY_; Canary_Live",
    );
    // The digit-bearing windows of such a secret are still pieces.
    assert.equal(r("x nal-Xk29ab y"), "x ••• y");
  });

  test("ordinary log lines pass untouched with many token-like secrets registered", () => {
    const secrets = [
      TOKEN,
      DB_URL,
      "ghp_4rT9xQ2mZk7LwVb3Nc8yHj5eP1sD6fGa0uIo",
      "a3f9c0b2e1d4f5a6b7c8d9e0f1a2b3c4",
    ];
    const r = redactor(secrets);
    const lines = [
      "2025-10-07T14:03:07.123Z INFO released shop 2.4.1 to production (db.internal:5432, cache.internal:6379)",
      "GET https://shop.example.com/api/v1/orders?page=2 200 12ms request_id=9f3b2c1a-77e0-4c1e-9a51-0b8f6f1d2e3a",
      "localhost:8080 ready; password policy checked; live canary at 5%; commit 3f9a1c0b7e2d4a6f8c1b3d5e7f9a0b2c4d6e8f01",
      "migration 0004_add_orders_index applied in 231 ms; sk_test_ keys are rejected in production",
    ];
    for (const line of lines) assert.equal(r(line), line);
  });

  test("secrets that are not token-like have no pieces, but are masked whole", () => {
    assert.equal(redact("hunter2hunter2 and hunter2h"), "••• and hunter2h");
    assert.equal(redact("correct horse battery staple, correct horse"), "•••, correct horse");
    assert.equal(redact(`${b64("correct horse battery staple")}`), "•••");
  });

  test("the rule for token-like values and for windows", () => {
    assert.ok(isTokenLike(TOKEN));
    assert.ok(isTokenLike("pgPassCANARY99!x"));
    assert.ok(isTokenLike("a3f9c0b2e1"));
    assert.ok(!isTokenLike("hunter2hunter2"), `entropy ${entropy("hunter2hunter2")}`);
    assert.ok(!isTokenLike("correct horse battery staple"));
    assert.ok(!isTokenLike("sk_live_1"), "too short");
    assert.ok(!isTokenLike(DB_URL));
    assert.equal(windowKind("released"), "skip");
    assert.equal(windowKind("db.inter"), "skip");
    assert.equal(windowKind("sk_live_"), "skip");
    assert.equal(windowKind("Content-"), "skip");
    assert.equal(windowKind("API_KEY_"), "skip");
    assert.equal(windowKind("2025-10-"), "skip");
    assert.equal(windowKind('ab"cd123'), "skip");
    assert.equal(windowKind("_live_CA"), "exact");
    assert.equal(windowKind("PassWord"), "exact");
    assert.equal(windowKind("RY_abc12"), "any-case");
    // A mixed-case window matches in its own case only: its lower case is a word.
    const r = redactor(["xQ7_PassWord_Lm9zT"]);
    assert.equal(r("PassWord"), "•••");
    assert.equal(r("password"), "password");
  });

  test("a URL's user-info is matched only in its encoded forms; its password has the pieces", () => {
    assert.deepEqual(secretParts(DB_URL), [
      { text: "app:pgPassCANARY99%21x", pieces: false, encodedOnly: true },
      { text: "app:pgPassCANARY99!x", pieces: false, encodedOnly: true },
      { text: "pgPassCANARY99%21x", pieces: true },
      { text: "pgPassCANARY99!x", pieces: true },
    ]);
  });
});

describe("masking: merged masks and multi-line text", () => {
  test("overlapping and touching matches merge into one mask", () => {
    const r = redactor(["abcd1234efgh", "efgh5678ijkl"]);
    assert.equal(r("x abcd1234efgh5678ijkl y"), "x ••• y", "overlapping");
    assert.equal(r("x abcd1234efghefgh5678ijkl y"), "x ••• y", "touching");
    assert.equal(r("x abcd1234efgh efgh5678ijkl y"), "x ••• ••• y", "apart");
    assert.equal(redact(`${TOKEN}${TOKEN.toUpperCase()}`), "•••");
    // A short secret found apart from the scan merges with the rest.
    const r2 = redactor(["wxyz", "abcd1234efgh"]);
    assert.equal(r2("wxyzabcd1234efgh wxyz"), "••• •••");
  });

  test("multi-line text: each line keeps its own text, line breaks stay", () => {
    const text = [
      "$ deploy --token sk_live_CANARY_abc123",
      "connecting to postgres://app:pgPassCANARY99%21x@db.internal:5432/shop",
      `auth ${b64(`app:pgPassCANARY99!x`)}`,
      "released 1.4.0 on localhost",
      "",
    ].join("\n");
    assert.equal(
      redact(text),
      [
        "$ deploy --token •••",
        "connecting to postgres://app:•••@db.internal:5432/shop",
        "auth •••",
        "released 1.4.0 on localhost",
        "",
      ].join("\n"),
    );
  });

  test("masking is idempotent and leaves text without secrets untouched", () => {
    const once = redact(`a ${TOKEN} b ${DB_URL}`);
    assert.equal(redact(once), once);
    for (const line of ["", "abc", "the quick brown fox", "•••", "İstanbul İİİ straße"]) {
      assert.equal(redact(line), line);
    }
    assert.equal(masker(["ab", ""])("ab"), "ab");
  });
});

describe("resolveSecrets: metric sources", () => {
  test("a source's token and header values given as references are masked everywhere", () => {
    process.env.GANTRY_TEST_SOURCE_TOKEN = "phx_source_token_CANARY_7f3a";
    process.env.GANTRY_TEST_SOURCE_HEADER = "Bearer prom_header_CANARY_91bc";
    try {
      const runbook = parseRunbookText(`apiVersion: gantry/v1
metadata: { name: r, service: s }
environments:
  prod:
    metrics:
      posthog: { type: posthog, url: "http://127.0.0.1:9", project: "1", token: env:GANTRY_TEST_SOURCE_TOKEN }
      prom: { type: prometheus, url: "http://127.0.0.1:9", headers: { Authorization: env:GANTRY_TEST_SOURCE_HEADER } }
deploy: { provider: command, deploy: "true", rollback: "true" }
`);
      assert.ok(runbook);
      const { redact } = resolveSecrets(runbook, "prod", ".");
      const shown = redact("token phx_source_token_CANARY_7f3a, header Bearer prom_header_CANARY_91bc");
      assert.doesNotMatch(shown, /CANARY/);
    } finally {
      delete process.env.GANTRY_TEST_SOURCE_TOKEN;
      delete process.env.GANTRY_TEST_SOURCE_HEADER;
    }
  });
});
