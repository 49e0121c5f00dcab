-- Keyed custody chains (see src/custody/mod.rs): each new event names the custody key whose
-- HMAC it carries; NULL marks the unkeyed SHA-256 events recorded before this migration.
ALTER TABLE custody_events ADD COLUMN key_id TEXT;
-- Only the events from before keyed chains may lack a key; the app seals them once.
CREATE INDEX custody_events_unkeyed_idx ON custody_events (sample_id) WHERE key_id IS NULL;
CREATE FUNCTION lims_require_custody_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key_id IS NULL THEN
        RAISE EXCEPTION 'custody events must carry a key id'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER custody_events_keyed BEFORE INSERT ON custody_events
    FOR EACH ROW EXECUTE FUNCTION lims_require_custody_key();

-- The head of each sample's chain, kept beside the sample so a truncated chain shows.
ALTER TABLE samples ADD COLUMN custody_head_seq BIGINT;
ALTER TABLE samples ADD COLUMN custody_head_hash TEXT;
UPDATE samples SET custody_head_seq = h.seq, custody_head_hash = h.hash
FROM (SELECT DISTINCT ON (sample_id) sample_id, seq, hash
      FROM custody_events ORDER BY sample_id, seq DESC) h
WHERE h.sample_id = samples.id;

-- A keyed statement that a chain recorded before keyed custody ended at (seq, hash).
CREATE TABLE custody_seals (
    sample_id TEXT PRIMARY KEY NOT NULL REFERENCES samples (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    mac TEXT NOT NULL,
    sealed_at TIMESTAMP NOT NULL
);
CREATE TRIGGER custody_seals_append_only BEFORE UPDATE OR DELETE ON custody_seals
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER custody_seals_no_truncate BEFORE TRUNCATE ON custody_seals
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();

-- The audit entry of each custody event, found by the event's id.
CREATE INDEX audit_log_entity_id_idx ON audit_log (entity, entity_id);

-- Verifications started from the supervisors' page run in the background; any instance
-- shows their progress and result.
CREATE TABLE custody_verifications (
    id TEXT PRIMARY KEY NOT NULL,
    started_by TEXT NOT NULL REFERENCES users (id),
    started_at TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    samples_total BIGINT NOT NULL,
    samples_checked BIGINT NOT NULL,
    events_checked BIGINT NOT NULL,
    broken BIGINT NOT NULL,
    breaks_json TEXT,
    error TEXT
);
CREATE INDEX custody_verifications_started_idx ON custody_verifications (started_at);
