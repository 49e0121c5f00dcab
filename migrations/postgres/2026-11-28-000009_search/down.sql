DROP INDEX seizures_declaration_trgm;
DROP INDEX seizures_reference_trgm;
DROP INDEX custody_events_new_seal_trgm;
DROP INDEX custody_events_seal_trgm;
DROP INDEX samples_seal_trgm;
DROP INDEX samples_lab_code_trgm;
DROP EXTENSION IF EXISTS pg_trgm;
