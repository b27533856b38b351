-- Contract: drop value_drivers.currency (replaced by canvases.currency); old pods read it, so it runs after rollout and healthy replicas.
ALTER TABLE value_drivers DROP COLUMN currency;
INSERT INTO schema_migrations (version) VALUES ('20240315-drop-columns');
