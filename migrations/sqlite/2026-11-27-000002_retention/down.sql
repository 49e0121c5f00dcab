ALTER TABLE custody_events DROP COLUMN quantity_sufficient;
ALTER TABLE custody_events DROP COLUMN retained_until;
ALTER TABLE samples DROP COLUMN retained_until;
