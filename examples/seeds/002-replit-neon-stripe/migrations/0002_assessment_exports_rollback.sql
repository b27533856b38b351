-- Rollback of 0002: drops assessment_exports and evidence_files.content_type and its version row; assessments.pdf_url was never touched.
DROP TABLE assessment_exports;
ALTER TABLE evidence_files DROP COLUMN content_type;
DELETE FROM schema_migrations WHERE version = '0002_assessment_exports';
