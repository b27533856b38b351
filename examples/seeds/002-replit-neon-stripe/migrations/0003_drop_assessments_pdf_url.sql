-- 0003 contract: drop assessments.pdf_url (superseded by assessment_exports); the previous release reads it, so it runs once the new one is healthy.
ALTER TABLE assessments DROP COLUMN pdf_url;
INSERT INTO schema_migrations (version) VALUES ('0003_drop_assessments_pdf_url');
