// `npm run db:verify:integrity` (rollback step 4, option B's "Confirm data integrity"): the
// seed's integrity queries against DATABASE_URL. Fails on an orphaned assessment or evidence
// file, an active subscriber without a Stripe customer, a foreign key not validated, or an
// empty schema_migrations.
import pg from "pg";
import { expect, steps } from "./client.mjs";

const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
await db.connect();
const one = async (text) => Number((await db.query(text)).rows[0].n);
try {
  await steps("data integrity", [
    [
      "orphaned assessments",
      async () => {
        const n = await one(
          "SELECT COUNT(*) AS n FROM assessments a LEFT JOIN facilities f ON a.facility_id = f.id WHERE f.id IS NULL",
        );
        expect(n === 0, `${n} assessments without their facility`);
      },
    ],
    [
      "orphaned evidence",
      async () => {
        const n = await one(
          "SELECT COUNT(*) AS n FROM evidence_files e LEFT JOIN assessments a ON a.id = e.assessment_id WHERE a.id IS NULL",
        );
        expect(n === 0, `${n} evidence files without their assessment`);
      },
    ],
    [
      "stripe subscription sync",
      async () => {
        const n = await one(
          "SELECT COUNT(*) AS n FROM users WHERE stripe_customer_id IS NULL AND subscription_status = 'active'",
        );
        expect(n === 0, `${n} active users without a Stripe customer`);
      },
    ],
    [
      "foreign keys validated",
      async () => {
        const n = await one(
          "SELECT COUNT(*) AS n FROM pg_constraint WHERE contype = 'f' AND NOT convalidated",
        );
        expect(n === 0, `${n} foreign keys not validated`);
      },
    ],
    [
      "schema version",
      async () => {
        const r = await db.query("SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1");
        expect(r.rows[0], "schema_migrations is empty");
        return r.rows[0].version;
      },
    ],
  ]);
} finally {
  await db.end();
}
