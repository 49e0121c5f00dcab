-- The search box's forgiving half: prefix and contains matching (`LIKE 'PR-63069%'`,
-- `LIKE '%0412%'`) over every code a person may type, each through a trigram GIN index
-- instead of reading every row. pg_trgm ships with PostgreSQL and is a trusted extension.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX samples_lab_code_trgm ON samples USING gin (lab_code gin_trgm_ops);
CREATE INDEX samples_seal_trgm ON samples USING gin (seal_number gin_trgm_ops)
    WHERE seal_number IS NOT NULL;
CREATE INDEX custody_events_seal_trgm ON custody_events USING gin (seal_number gin_trgm_ops)
    WHERE seal_number IS NOT NULL;
CREATE INDEX custody_events_new_seal_trgm ON custody_events
    USING gin (new_seal_number gin_trgm_ops) WHERE new_seal_number IS NOT NULL;
CREATE INDEX seizures_reference_trgm ON seizures USING gin (reference gin_trgm_ops);
CREATE INDEX seizures_declaration_trgm ON seizures
    USING gin (declaration_number gin_trgm_ops) WHERE declaration_number IS NOT NULL;
