-- Contract: drop documents.beneficiary_name (replaced by document_beneficiaries); the previous release reads it, so it waits for T+24h.
ALTER TABLE documents DROP COLUMN beneficiary_name;
