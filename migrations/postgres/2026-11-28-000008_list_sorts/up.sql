-- The lab user who holds the sample now (NULL: outside the lab, or nobody), as
-- `sample::holding::Holding::of` reads it from the chain. `custody::append` keeps it, so the
-- home page counts "in my custody" from an index instead of reading every chain.
ALTER TABLE samples ADD COLUMN holder_id TEXT REFERENCES users (id);
CREATE INDEX samples_holder_idx ON samples (holder_id, created_at, id);
-- Samples recorded before this column: from their last event. Collected and sealed only come
-- before the lab takes a sample in, when no lab user holds it.
UPDATE samples SET holder_id = (
    SELECT CASE
        WHEN e.kind IN ('collected', 'sealed', 'sent_external', 'returned_to_owner', 'destroyed')
            THEN NULL
        ELSE COALESCE(e.to_user_id, e.recorded_by)
    END
    FROM custody_events e
    WHERE e.sample_id = samples.id
    ORDER BY e.seq DESC
    LIMIT 1
);
-- "My seizures" and their samples, for officers' home page.
CREATE INDEX seizures_registered_by_idx ON seizures (registered_by, seized_at, id);
-- The sample list's sorts: by due date (none last), and urgent first then by due date. The
-- keyset cursor compares (key, id), so each key is indexed with the id; the expressions are
-- spelt exactly as `sample::list` writes them.
CREATE INDEX samples_due_sort_idx ON samples ((COALESCE(due_date, '9999-12-31')), id);
CREATE INDEX samples_priority_sort_idx ON samples (
    (CASE WHEN priority = 'urgent' THEN '0' ELSE '1' END || COALESCE(due_date, '9999-12-31')), id);
-- The lists' free-text filter is a prefix LIKE; text_pattern_ops lets the index answer it
-- whatever the database's collation.
CREATE INDEX samples_lab_code_prefix_idx ON samples (lab_code text_pattern_ops);
CREATE INDEX samples_seal_prefix_idx ON samples (seal_number text_pattern_ops);
CREATE INDEX seizures_reference_prefix_idx ON seizures (reference text_pattern_ops);
CREATE INDEX seizures_declaration_prefix_idx ON seizures (declaration_number text_pattern_ops);
