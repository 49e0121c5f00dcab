-- Keyed custody chains (see src/custody/mod.rs): each new event names the custody key whose
-- HMAC it carries; NULL marks the unkeyed SHA-256 events recorded before this migration.
ALTER TABLE custody_events ADD COLUMN key_id TEXT;
-- Only the events from before keyed chains may lack a key; the app seals them once.
CREATE INDEX custody_events_unkeyed_idx ON custody_events (sample_id) WHERE key_id IS NULL;
CREATE TRIGGER custody_events_keyed BEFORE INSERT ON custody_events
WHEN NEW.key_id IS NULL
BEGIN SELECT RAISE(ABORT, 'custody events must carry a key id'); END;

-- The head of each sample's chain, kept beside the sample so a truncated chain shows.
ALTER TABLE samples ADD COLUMN custody_head_seq BIGINT;
ALTER TABLE samples ADD COLUMN custody_head_hash TEXT;
UPDATE samples SET
    custody_head_seq = (SELECT e.seq FROM custody_events e WHERE e.sample_id = samples.id
                        ORDER BY e.seq DESC LIMIT 1),
    custody_head_hash = (SELECT e.hash FROM custody_events e WHERE e.sample_id = samples.id
                         ORDER BY e.seq DESC LIMIT 1);

-- A keyed statement that a chain recorded before keyed custody ended at (seq, hash).
CREATE TABLE custody_seals (
    sample_id TEXT PRIMARY KEY NOT NULL REFERENCES samples (id),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    mac TEXT NOT NULL,
    sealed_at TIMESTAMP NOT NULL
);
CREATE TRIGGER custody_seals_no_update BEFORE UPDATE ON custody_seals
BEGIN SELECT RAISE(ABORT, 'custody_seals is append-only'); END;
CREATE TRIGGER custody_seals_no_delete BEFORE DELETE ON custody_seals
BEGIN SELECT RAISE(ABORT, 'custody_seals is append-only'); END;

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
