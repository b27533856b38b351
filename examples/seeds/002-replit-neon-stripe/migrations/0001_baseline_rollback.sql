-- Rollback of 0001: drops every table it created, dependents first, schema_migrations (with its 0001 row) last.
DROP TABLE evidence_files;
DROP TABLE assessments;
DROP TABLE facilities;
DROP TABLE users;
DROP TABLE schema_migrations;
