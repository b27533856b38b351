/** Small SQL helpers for tests that talk to a Postgres server directly. */
import pg from "pg";

/** Runs `text` on a connection of its own, closed afterwards. */
export async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Creates database `name` on the server of `serverUrl` and returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await sql(serverUrl, `CREATE DATABASE ${name}`);
  return serverUrl.replace(/\/[^/]+$/, `/${name}`);
}
