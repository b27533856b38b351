-- Baseline (expand): ValueCanvas tables, row-level security and the schema_migrations ledger; it only creates objects.
CREATE TABLE schema_migrations (version text PRIMARY KEY, inserted_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE org_members (org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id uuid NOT NULL, PRIMARY KEY (org_id, user_id)); -- user_id is the Supabase auth.users id
CREATE TABLE canvases (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE value_drivers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  canvas_id uuid NOT NULL REFERENCES canvases (id) ON DELETE CASCADE,
  name text NOT NULL,
  annual_value numeric(14, 2),
  currency text -- ISO 4217 code per driver; NULL means USD
);
CREATE INDEX value_drivers_canvas_id_idx ON value_drivers (canvas_id);
-- Members see their organizations' canvases; request.jwt.claim.sub is the claim Supabase's auth.uid() reads.
ALTER TABLE canvases ENABLE ROW LEVEL SECURITY;
CREATE POLICY canvases_org_members ON canvases USING (org_id IN (SELECT org_id FROM org_members
  WHERE user_id = nullif(current_setting('request.jwt.claim.sub', true), '')::uuid));
ALTER TABLE value_drivers ENABLE ROW LEVEL SECURITY;
CREATE POLICY value_drivers_via_canvas ON value_drivers USING (canvas_id IN (SELECT id FROM canvases));
INSERT INTO schema_migrations (version) VALUES ('20240301-base-add-columns');
