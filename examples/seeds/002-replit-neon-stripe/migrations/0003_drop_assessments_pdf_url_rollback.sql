-- Rollback of 0003: re-adds assessments.pdf_url, nullable as in 0001, and refills it from each assessment's
-- latest completed export. A URL the old release wrote after 0002 ran comes back only via the Neon restore.
ALTER TABLE assessments ADD COLUMN pdf_url text;
UPDATE assessments a
SET pdf_url = e.file_url
FROM (SELECT DISTINCT ON (assessment_id) assessment_id, file_url FROM assessment_exports
      WHERE status = 'completed' ORDER BY assessment_id, completed_at DESC NULLS LAST) e
WHERE e.assessment_id = a.id;
DELETE FROM schema_migrations WHERE version = '0003_drop_assessments_pdf_url';
