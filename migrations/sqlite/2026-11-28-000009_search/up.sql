-- The search box's forgiving half: every code a person may type (lab codes, seal numbers,
-- including the seals read and put on along the chain, seizure references and declaration
-- numbers) in an FTS5 table with the trigram tokenizer, so `term LIKE '%0412%'` and
-- `term LIKE 'PR-63069%'` read the index instead of every row. Kept current by triggers.
-- Samples and seizures are evidence and never deleted; a value replaced later (a reseal)
-- keeps finding its record, as the custody chain keeps the old seal.
CREATE VIRTUAL TABLE search_terms USING fts5(
    term, kind UNINDEXED, record_id UNINDEXED, tokenize = 'trigram'
);

INSERT INTO search_terms (term, kind, record_id)
    SELECT lab_code, 'sample', id FROM samples;
INSERT INTO search_terms (term, kind, record_id)
    SELECT seal_number, 'sample', id FROM samples WHERE seal_number IS NOT NULL;
INSERT INTO search_terms (term, kind, record_id)
    SELECT e.seal, 'sample', e.sample_id
    FROM (
        SELECT sample_id, seal_number AS seal FROM custody_events WHERE seal_number IS NOT NULL
        UNION
        SELECT sample_id, new_seal_number FROM custody_events WHERE new_seal_number IS NOT NULL
    ) e JOIN samples s ON s.id = e.sample_id
    WHERE s.seal_number IS NOT e.seal;
INSERT INTO search_terms (term, kind, record_id)
    SELECT reference, 'seizure', id FROM seizures;
INSERT INTO search_terms (term, kind, record_id)
    SELECT declaration_number, 'seizure', id FROM seizures WHERE declaration_number IS NOT NULL;

CREATE TRIGGER search_terms_sample_new AFTER INSERT ON samples
BEGIN
    INSERT INTO search_terms (term, kind, record_id) VALUES (NEW.lab_code, 'sample', NEW.id);
    INSERT INTO search_terms (term, kind, record_id)
        SELECT NEW.seal_number, 'sample', NEW.id WHERE NEW.seal_number IS NOT NULL;
END;

-- A seal the chain already named for this sample is in the table (the sealed, checked and
-- resealed events carry the same numbers again and again); only new numbers are added.
CREATE TRIGGER search_terms_sample_seal AFTER UPDATE OF seal_number ON samples
WHEN NEW.seal_number IS NOT NULL AND NEW.seal_number IS NOT OLD.seal_number
    AND NOT EXISTS (SELECT 1 FROM custody_events
                    WHERE seal_number = NEW.seal_number AND sample_id = NEW.id)
    AND NOT EXISTS (SELECT 1 FROM custody_events
                    WHERE new_seal_number = NEW.seal_number AND sample_id = NEW.id)
BEGIN
    INSERT INTO search_terms (term, kind, record_id) VALUES (NEW.seal_number, 'sample', NEW.id);
END;

CREATE TRIGGER search_terms_custody_seal AFTER INSERT ON custody_events
WHEN NEW.seal_number IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM samples
                    WHERE id = NEW.sample_id AND seal_number = NEW.seal_number)
    AND NOT EXISTS (SELECT 1 FROM custody_events
                    WHERE seal_number = NEW.seal_number AND sample_id = NEW.sample_id
                      AND id <> NEW.id)
    AND NOT EXISTS (SELECT 1 FROM custody_events
                    WHERE new_seal_number = NEW.seal_number AND sample_id = NEW.sample_id)
BEGIN
    INSERT INTO search_terms (term, kind, record_id)
        VALUES (NEW.seal_number, 'sample', NEW.sample_id);
END;

CREATE TRIGGER search_terms_custody_new_seal AFTER INSERT ON custody_events
WHEN NEW.new_seal_number IS NOT NULL
    AND NEW.new_seal_number IS NOT NEW.seal_number
    AND NOT EXISTS (SELECT 1 FROM samples
                    WHERE id = NEW.sample_id AND seal_number = NEW.new_seal_number)
    AND NOT EXISTS (SELECT 1 FROM custody_events
                    WHERE seal_number = NEW.new_seal_number AND sample_id = NEW.sample_id
                      AND id <> NEW.id)
    AND NOT EXISTS (SELECT 1 FROM custody_events
                    WHERE new_seal_number = NEW.new_seal_number AND sample_id = NEW.sample_id
                      AND id <> NEW.id)
BEGIN
    INSERT INTO search_terms (term, kind, record_id)
        VALUES (NEW.new_seal_number, 'sample', NEW.sample_id);
END;

CREATE TRIGGER search_terms_seizure_new AFTER INSERT ON seizures
BEGIN
    INSERT INTO search_terms (term, kind, record_id) VALUES (NEW.reference, 'seizure', NEW.id);
    INSERT INTO search_terms (term, kind, record_id)
        SELECT NEW.declaration_number, 'seizure', NEW.id
        WHERE NEW.declaration_number IS NOT NULL;
END;

CREATE TRIGGER search_terms_seizure_change AFTER UPDATE OF reference, declaration_number ON seizures
BEGIN
    INSERT INTO search_terms (term, kind, record_id)
        SELECT NEW.reference, 'seizure', NEW.id WHERE NEW.reference IS NOT OLD.reference;
    INSERT INTO search_terms (term, kind, record_id)
        SELECT NEW.declaration_number, 'seizure', NEW.id
        WHERE NEW.declaration_number IS NOT NULL
          AND NEW.declaration_number IS NOT OLD.declaration_number;
END;
