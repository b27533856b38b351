-- Rollback of the baseline: drops every table it created (their policies go with them), schema_migrations last.
DROP TABLE value_drivers;
DROP TABLE canvases;
DROP TABLE org_members;
DROP TABLE organizations;
DROP TABLE schema_migrations;
