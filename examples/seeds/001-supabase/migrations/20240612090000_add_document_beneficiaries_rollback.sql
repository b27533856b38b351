-- Rollback of the expand: drops document_beneficiaries and its index; documents.beneficiary_name was never touched.
DROP TABLE document_beneficiaries;
