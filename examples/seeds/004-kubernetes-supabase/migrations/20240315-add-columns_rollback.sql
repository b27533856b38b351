-- Rollback of the expand: drops the two columns it added and its version row; value_drivers.currency was kept.
ALTER TABLE canvases DROP COLUMN currency;
ALTER TABLE organizations DROP COLUMN default_currency;
DELETE FROM schema_migrations WHERE version = '20240315-add-columns';
