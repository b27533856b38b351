/**
 * The Supabase database's content the seed's checks and the app read: the Supabase CLI's
 * migration ledger (supabase_migrations.schema_migrations, what the runbook's schema-version
 * check queries) and the passages the coach cites.
 */
export const MIGRATIONS = [
  ["20240301120000", "init_profiles"],
  ["20240322090000", "passages_full_text"],
  ["20240410153000", "coach_sessions"],
];

const PASSAGES = [
  [
    "Marcus Aurelius",
    "Meditations 5.20",
    "The impediment to action advances action. What stands in the way becomes the way.",
  ],
  [
    "Epictetus",
    "Enchiridion 1",
    "Some things are within our power, while others are not. Virtue is the work of the will.",
  ],
  [
    "Seneca",
    "Letters 24",
    "It is not death that a man should fear, but he should fear never beginning to live.",
  ],
  ["Seneca", "On Anger 1.1", "Anger is a brief madness; justice needs a calm mind, not a violent one."],
  [
    "Zeno",
    "fragment",
    "Happiness is a good flow of life: to live according to nature is to live according to virtue.",
  ],
  [
    "Marcus Aurelius",
    "Meditations 4.3",
    "Calm is nothing but the good ordering of the mind before a hard conversation.",
  ],
];

/** Creates both tables and their rows with `client` (a connected pg client). */
export async function seedDatabase(client) {
  await client.query(`
    create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (
      version text primary key, name text, statements text[]);
    create table if not exists passages (id serial primary key, author text, work text, text text);`);
  for (const [version, name] of MIGRATIONS) {
    await client.query(
      "insert into supabase_migrations.schema_migrations (version, name) values ($1, $2) on conflict do nothing",
      [version, name],
    );
  }
  for (const [author, work, text] of PASSAGES) {
    await client.query("insert into passages (author, work, text) values ($1, $2, $3)", [author, work, text]);
  }
}
