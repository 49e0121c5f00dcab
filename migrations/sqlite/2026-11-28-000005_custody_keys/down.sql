DROP TABLE custody_verifications;
DROP INDEX audit_log_entity_id_idx;
DROP TABLE custody_seals;
ALTER TABLE samples DROP COLUMN custody_head_hash;
ALTER TABLE samples DROP COLUMN custody_head_seq;
DROP TRIGGER custody_events_keyed;
DROP INDEX custody_events_unkeyed_idx;
ALTER TABLE custody_events DROP COLUMN key_id;
