ALTER TABLE custody_events DROP COLUMN override_reason;
ALTER TABLE custody_events DROP COLUMN witness_document;
ALTER TABLE custody_events DROP COLUMN witness_user_id;
DROP INDEX samples_exception_idx;
ALTER TABLE samples DROP COLUMN receipt_exceptions;
