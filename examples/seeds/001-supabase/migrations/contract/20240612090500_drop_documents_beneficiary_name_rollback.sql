-- Rollback of the contract: re-adds documents.beneficiary_name, nullable as it was, so the previous release can run.
-- The dropped values themselves come back only by restoring the pre-release backup (pg_restore); below, names
-- are rebuilt from document_beneficiaries, which leaves NULL where a name matched no beneficiary.
ALTER TABLE documents ADD COLUMN beneficiary_name text;
UPDATE documents d
SET beneficiary_name = b.full_name
FROM document_beneficiaries db
JOIN beneficiaries b ON b.id = db.beneficiary_id
WHERE db.document_id = d.id;
