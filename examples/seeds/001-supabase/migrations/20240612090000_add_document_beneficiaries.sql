-- Expand: new document_beneficiaries link table (a referenced beneficiary cannot be deleted) plus a backfill; the previous release never reads it.
CREATE TABLE document_beneficiaries (
  document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  beneficiary_id text NOT NULL REFERENCES beneficiaries (id) ON DELETE RESTRICT,
  PRIMARY KEY (document_id, beneficiary_id)
);
-- New table, so a plain CREATE INDEX takes no lock anyone waits on; it serves the RESTRICT check on delete.
CREATE INDEX document_beneficiaries_beneficiary_id_idx ON document_beneficiaries (beneficiary_id);
-- Backfill from the free-text column: names that match one of the owner's beneficiaries.
INSERT INTO document_beneficiaries (document_id, beneficiary_id)
SELECT d.id, b.id
FROM documents d
JOIN beneficiaries b ON b.owner_id = d.owner_id AND b.full_name = d.beneficiary_name
WHERE d.beneficiary_name IS NOT NULL;
