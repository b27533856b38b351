-- Rollback of the baseline: drops every table it created, dependents first, back to an empty schema.
DROP TABLE budget_reconciliation_events;
DROP TABLE documents;
DROP TABLE beneficiaries;
DROP TABLE users;
