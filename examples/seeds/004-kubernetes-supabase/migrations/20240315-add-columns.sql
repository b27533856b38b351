-- Expand: currency moves from value drivers to canvases (plus an org default); columns with defaults only, old pods keep working.
ALTER TABLE organizations ADD COLUMN default_currency text NOT NULL DEFAULT 'USD';
ALTER TABLE canvases ADD COLUMN currency text NOT NULL DEFAULT 'USD';
-- Backfill: a canvas takes its drivers' currency (the first by code if they were mixed).
UPDATE canvases c
SET currency = d.currency
FROM (SELECT canvas_id, min(currency) AS currency FROM value_drivers
      WHERE currency IS NOT NULL GROUP BY canvas_id) d
WHERE d.canvas_id = c.id AND c.currency <> d.currency;
INSERT INTO schema_migrations (version) VALUES ('20240315-add-columns');
