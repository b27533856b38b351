-- Rollback of the contract: re-adds value_drivers.currency, nullable as it was, and fills it from the canvas.
-- Per-driver values (NULLs, mixed currencies) come back only by restoring the pre-release Supabase backup.
ALTER TABLE value_drivers ADD COLUMN currency text;
UPDATE value_drivers d SET currency = c.currency FROM canvases c WHERE c.id = d.canvas_id;
DELETE FROM schema_migrations WHERE version = '20240315-drop-columns';
