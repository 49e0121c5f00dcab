-- What went wrong when a sample was received: a comma-separated set of `seal_broken`,
-- `seal_differs`, `quantity_insufficient`, `rejected` in that order; NULL for a clean receipt
-- (and for samples not yet received). Written at receipt through the sample's transition
-- function, so lists read one column instead of every sample's custody events.
ALTER TABLE samples ADD COLUMN receipt_exceptions TEXT;
-- The exceptions filter walks only the exceptional rows, newest first.
CREATE INDEX samples_exception_idx ON samples (created_at, id)
    WHERE receipt_exceptions IS NOT NULL;
-- Samples received before this column: from their receipt event. The seal differs when the
-- seal read at receipt is not the one recorded when it was sealed at the seizure.
UPDATE samples SET receipt_exceptions = (
    SELECT NULLIF(rtrim(
        CASE WHEN e.seal_intact = 0 THEN 'seal_broken,' ELSE '' END ||
        CASE WHEN e.seal_number IS NOT NULL AND EXISTS (
            SELECT 1 FROM custody_events s
            WHERE s.sample_id = e.sample_id AND s.kind = 'sealed'
              AND s.seal_number <> e.seal_number
        ) THEN 'seal_differs,' ELSE '' END ||
        CASE WHEN e.quantity_sufficient = 0 THEN 'quantity_insufficient,' ELSE '' END ||
        CASE WHEN e.kind = 'rejected_at_receipt' THEN 'rejected,' ELSE '' END,
        ','), '')
    FROM custody_events e
    WHERE e.sample_id = samples.id
      AND e.kind IN ('received_at_lab', 'rejected_at_receipt')
    ORDER BY e.seq
    LIMIT 1
)
WHERE status <> 'registered';

-- A destruction's witness: a user who confirmed with their password, or an external person
-- named in `witness` with the identity document given here.
ALTER TABLE custody_events ADD COLUMN witness_user_id TEXT REFERENCES users (id);
ALTER TABLE custody_events ADD COLUMN witness_document TEXT;
-- Why a supervisor, not the sample's holder, recorded the event.
ALTER TABLE custody_events ADD COLUMN override_reason TEXT;
