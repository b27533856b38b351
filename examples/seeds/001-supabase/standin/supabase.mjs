/**
 * What Supabase gives estate-vault, on Debian's PostgreSQL: one database per environment with
 * its own role and password, and Supabase Auth's `auth.users` holding the synthetic smoke
 * accounts. The team's schema is not made here: the release applies migrations/ (expand before
 * the deploy, the contract at T+24h).
 */
import pg from "pg";
import { hashPassword } from "./password.mjs";

const LOCKED_BENEFICIARY = "ben_smoke_locked";

/**
 * Creates the role and the database `database` (the role has its name), and auth.users with
 * the smoke accounts; returns the app's connection URL.
 */
export async function setUpSupabase(adminUrl, { port, database, password, smokeUsers, smokePassword }) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      "select format('create role %I login password %L', $1::text, $2::text) sql",
      [database, password],
    );
    await admin.query(rows[0].sql);
    await admin.query(`create database ${database} owner ${database}`);
  } finally {
    await admin.end();
  }
  const url = `postgres://${database}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
  const app = new pg.Client({ connectionString: url });
  await app.connect();
  try {
    await app.query(`create schema auth;
      create table auth.users (
        id uuid primary key default gen_random_uuid(),
        email text not null unique,
        encrypted_password text not null
      )`);
    for (const email of smokeUsers) {
      await app.query("insert into auth.users (email, encrypted_password) values ($1, $2)", [
        email,
        hashPassword(smokePassword),
      ]);
    }
  } finally {
    await app.end();
  }
  return url;
}

/**
 * The synthetic account's fixtures, which the team keeps in production for the smoke tests: the
 * beneficiary `ben_smoke_locked`, named by one of its documents, so that deleting it must be
 * refused. Made once the migrations have created the tables; linked through
 * document_beneficiaries once that table exists. Idempotent.
 */
export async function ensureSmokeFixtures(url, smokeUser) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const exists = async (name) =>
      (await db.query("select to_regclass($1) is not null as ok", [name])).rows[0].ok;
    if (!(await exists("public.beneficiaries"))) return;
    const owner = (await db.query("select id from auth.users where email = $1", [smokeUser])).rows[0].id;
    await db.query("insert into users (id, email) values ($1, $2) on conflict (id) do nothing", [
      owner,
      smokeUser,
    ]);
    await db.query(
      "insert into beneficiaries (id, owner_id, full_name) values ($1, $2, 'Smoke Locked') on conflict (id) do nothing",
      [LOCKED_BENEFICIARY, owner],
    );
    let doc = (
      await db.query("select id from documents where owner_id = $1 and title = 'Smoke fixture: will'", [
        owner,
      ])
    ).rows[0];
    if (!doc) {
      doc = (
        await db.query(
          "insert into documents (owner_id, title) values ($1, 'Smoke fixture: will') returning id",
          [owner],
        )
      ).rows[0];
    }
    const named = await db.query(
      "select 1 from information_schema.columns where table_name = 'documents' and column_name = 'beneficiary_name'",
    );
    if (named.rowCount) {
      await db.query("update documents set beneficiary_name = 'Smoke Locked' where id = $1", [doc.id]);
    }
    if (await exists("public.document_beneficiaries")) {
      await db.query(
        "insert into document_beneficiaries (document_id, beneficiary_id) values ($1, $2) on conflict do nothing",
        [doc.id, LOCKED_BENEFICIARY],
      );
    }
  } finally {
    await db.end();
  }
}
