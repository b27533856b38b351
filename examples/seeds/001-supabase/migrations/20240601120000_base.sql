-- Baseline (expand): estate-vault's tables before the June release; it only creates tables, so nothing existing breaks.
CREATE TABLE users ( -- id is the Supabase Auth user id
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE beneficiaries (
  id text PRIMARY KEY, -- e.g. ben_smoke_locked
  owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  full_name text NOT NULL
);
CREATE TABLE documents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text NOT NULL,
  body text NOT NULL DEFAULT '',
  updated_at timestamptz NOT NULL DEFAULT now(),
  beneficiary_name text -- free text: nothing stops deleting the beneficiary it names
);
CREATE TABLE budget_reconciliation_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  delta_cents bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX budget_reconciliation_events_created_at_idx ON budget_reconciliation_events (created_at);
