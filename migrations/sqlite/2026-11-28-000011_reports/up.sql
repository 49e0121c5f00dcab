-- Reports, reshaped before the first signature (the tables were empty): numbered, signed,
-- frozen versions that anchor custody, with what they report and who signed what.

DROP TABLE report_signatures;
DROP TABLE report_versions;
DROP TABLE reports;

-- Laboratory settings: one row per change, never updated; the latest row is in force and
-- each report version keeps a copy of the one it was drafted under.
CREATE TABLE lab_settings (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    address TEXT NOT NULL CHECK (length(trim(address)) > 0),
    accreditation_number TEXT,
    accreditation_body TEXT,
    logo_storage_key TEXT,
    logo_sha256 TEXT,
    logo_content_type TEXT,
    report_locale TEXT NOT NULL CHECK (report_locale IN ('es', 'en')),
    require_second_signature BOOLEAN NOT NULL,
    changed_by TEXT NOT NULL REFERENCES users (id),
    changed_at TIMESTAMP NOT NULL,
    CHECK ((logo_storage_key IS NULL) = (logo_sha256 IS NULL)),
    CHECK ((logo_storage_key IS NULL) = (logo_content_type IS NULL))
);
CREATE INDEX lab_settings_changed_idx ON lab_settings (changed_at, id);

-- A report covers one sample, or every sample of a seizure (sample_id NULL).
CREATE TABLE reports (
    id TEXT PRIMARY KEY NOT NULL,
    seizure_id TEXT NOT NULL REFERENCES seizures (id),
    sample_id TEXT REFERENCES samples (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX reports_seizure_idx ON reports (seizure_id);
CREATE INDEX reports_sample_idx ON reports (sample_id);

-- A version is drafted, then frozen by its first signature (number and content hash set
-- together), then issued (by the last required signature, with the stored PDF), or
-- discarded. Version n > 1 amends version n - 1 of the same report, which must be issued,
-- with a reason; each version is amended at most once (no branching).
CREATE TABLE report_versions (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES reports (id),
    version_no INTEGER NOT NULL CHECK (version_no >= 1),
    format_version INTEGER NOT NULL CHECK (format_version >= 1),
    locale TEXT NOT NULL CHECK (locale IN ('es', 'en')),
    status TEXT NOT NULL CHECK (status IN ('draft', 'pending_signature', 'issued', 'discarded')),
    lab_settings_id TEXT NOT NULL REFERENCES lab_settings (id),
    content TEXT NOT NULL,
    conclusion TEXT,
    opinion TEXT,
    deviations TEXT,
    decision_rule TEXT,
    found_hs_code TEXT,
    declared_hs_code TEXT,
    tariff_difference TEXT CHECK (tariff_difference IN ('none', 'national', 'subheading',
        'heading', 'chapter')),
    controlled_found BOOLEAN NOT NULL,
    prohibited_found BOOLEAN NOT NULL,
    counterfeit_found BOOLEAN NOT NULL,
    finding_note TEXT,
    amendment_reason TEXT,
    supersedes_id TEXT,
    report_number TEXT UNIQUE CHECK (report_number GLOB 'RPT-[0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]'),
    content_sha256 TEXT CHECK (length(content_sha256) = 64 AND content_sha256 NOT GLOB '*[^0-9a-f]*'),
    drafted_by TEXT NOT NULL REFERENCES users (id),
    drafted_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    issued_at TIMESTAMP,
    issued_by TEXT REFERENCES users (id),
    pdf_sha256 TEXT CHECK (length(pdf_sha256) = 64 AND pdf_sha256 NOT GLOB '*[^0-9a-f]*'),
    discarded_reason TEXT,
    UNIQUE (report_id, version_no),
    UNIQUE (id, report_id),
    FOREIGN KEY (supersedes_id, report_id) REFERENCES report_versions (id, report_id),
    CHECK ((version_no = 1) = (supersedes_id IS NULL)),
    CHECK ((supersedes_id IS NULL) = (amendment_reason IS NULL)),
    CHECK (amendment_reason IS NULL OR length(trim(amendment_reason)) > 0),
    CHECK ((report_number IS NULL) = (content_sha256 IS NULL)),
    CHECK (status <> 'draft' OR content_sha256 IS NULL),
    CHECK (status <> 'pending_signature' OR content_sha256 IS NOT NULL),
    CHECK ((status = 'issued') = (issued_at IS NOT NULL)),
    CHECK (status <> 'issued' OR (issued_by IS NOT NULL AND content_sha256 IS NOT NULL
        AND pdf_sha256 IS NOT NULL)),
    CHECK ((status = 'discarded') = (discarded_reason IS NOT NULL))
);
-- A discarded amendment does not count: the issued version may be amended again.
CREATE UNIQUE INDEX report_versions_no_branching ON report_versions (supersedes_id)
    WHERE status <> 'discarded';
CREATE UNIQUE INDEX report_versions_one_open ON report_versions (report_id)
    WHERE status IN ('draft', 'pending_signature');
CREATE INDEX report_versions_issued_idx ON report_versions (issued_at, id);

-- Which approved results each version reports (statistics join on these).
CREATE TABLE report_items (
    report_version_id TEXT NOT NULL REFERENCES report_versions (id),
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    sample_id TEXT NOT NULL REFERENCES samples (id),
    position INTEGER NOT NULL,
    PRIMARY KEY (report_version_id, analysis_id),
    UNIQUE (report_version_id, position)
);
CREATE INDEX report_items_analysis_idx ON report_items (analysis_id);
CREATE INDEX report_items_sample_idx ON report_items (sample_id);

-- Each sample's custody head when its report was frozen; the signed content holds the same.
CREATE TABLE report_anchors (
    report_version_id TEXT NOT NULL REFERENCES report_versions (id),
    sample_id TEXT NOT NULL REFERENCES samples (id),
    custody_seq BIGINT NOT NULL,
    custody_hash TEXT NOT NULL,
    PRIMARY KEY (report_version_id, sample_id)
);
CREATE INDEX report_anchors_sample_idx ON report_anchors (sample_id);

-- Electronic signatures (21 CFR 11.50/11.70): who (as they were then), what it means, how
-- they proved it, when, over which content; signature_hash is an HMAC under the custody key.
CREATE TABLE report_signatures (
    id TEXT PRIMARY KEY NOT NULL,
    report_version_id TEXT NOT NULL REFERENCES report_versions (id),
    signer_id TEXT NOT NULL REFERENCES users (id),
    signer_name TEXT NOT NULL,
    signer_username TEXT NOT NULL,
    signer_role TEXT NOT NULL,
    meaning_code TEXT NOT NULL CHECK (meaning_code IN ('reviewed_approved', 'technical_review',
        'authored')),
    meaning_text TEXT NOT NULL,
    auth_method TEXT NOT NULL CHECK (auth_method IN ('password')),
    signed_at TIMESTAMP NOT NULL,
    content_sha256 TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature_hash TEXT NOT NULL,
    UNIQUE (report_version_id, signer_id),
    UNIQUE (report_version_id, meaning_code)
);
CREATE INDEX report_signatures_version_idx ON report_signatures (report_version_id);

-- Every public verification check, kept (who asked is only an address).
CREATE TABLE report_verifications (
    id TEXT PRIMARY KEY NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    remote_addr TEXT,
    report_number TEXT NOT NULL,
    hash_given TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('issued', 'superseded', 'mismatch', 'unknown',
        'not_issued')),
    via TEXT NOT NULL CHECK (via IN ('page', 'upload', 'api'))
);
CREATE INDEX report_verifications_time_idx ON report_verifications (checked_at, id);
CREATE INDEX report_verifications_addr_idx ON report_verifications (remote_addr, checked_at);

-- The superseded version must have been issued, when the amendment is drafted.
CREATE TRIGGER report_versions_amend_issued BEFORE INSERT ON report_versions
WHEN NEW.supersedes_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM report_versions WHERE id = NEW.supersedes_id AND status = 'issued')
BEGIN SELECT RAISE(ABORT, 'only an issued report version can be amended'); END;

-- Issued and discarded versions never change; frozen content never changes.
CREATE TRIGGER report_versions_closed_no_update BEFORE UPDATE ON report_versions
WHEN OLD.status IN ('issued', 'discarded')
BEGIN SELECT RAISE(ABORT, 'an issued report version cannot be changed'); END;
CREATE TRIGGER report_versions_frozen_no_update BEFORE UPDATE ON report_versions
WHEN OLD.content_sha256 IS NOT NULL AND (NEW.content IS NOT OLD.content
    OR NEW.content_sha256 IS NOT OLD.content_sha256 OR NEW.report_number IS NOT OLD.report_number
    OR NEW.report_id IS NOT OLD.report_id OR NEW.version_no IS NOT OLD.version_no
    OR NEW.supersedes_id IS NOT OLD.supersedes_id OR NEW.format_version IS NOT OLD.format_version
    OR NEW.locale IS NOT OLD.locale OR NEW.lab_settings_id IS NOT OLD.lab_settings_id
    OR NEW.conclusion IS NOT OLD.conclusion OR NEW.opinion IS NOT OLD.opinion
    OR NEW.deviations IS NOT OLD.deviations OR NEW.decision_rule IS NOT OLD.decision_rule
    OR NEW.found_hs_code IS NOT OLD.found_hs_code
    OR NEW.declared_hs_code IS NOT OLD.declared_hs_code
    OR NEW.tariff_difference IS NOT OLD.tariff_difference
    OR NEW.controlled_found IS NOT OLD.controlled_found
    OR NEW.prohibited_found IS NOT OLD.prohibited_found
    OR NEW.counterfeit_found IS NOT OLD.counterfeit_found
    OR NEW.finding_note IS NOT OLD.finding_note OR NEW.amendment_reason IS NOT OLD.amendment_reason)
BEGIN SELECT RAISE(ABORT, 'signed report content cannot be changed'); END;
CREATE TRIGGER report_versions_no_delete BEFORE DELETE ON report_versions
BEGIN SELECT RAISE(ABORT, 'report_versions is append-only'); END;
CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
BEGIN SELECT RAISE(ABORT, 'reports is append-only'); END;
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
BEGIN SELECT RAISE(ABORT, 'reports is append-only'); END;
CREATE TRIGGER lab_settings_no_update BEFORE UPDATE ON lab_settings
BEGIN SELECT RAISE(ABORT, 'lab_settings is append-only'); END;
CREATE TRIGGER lab_settings_no_delete BEFORE DELETE ON lab_settings
BEGIN SELECT RAISE(ABORT, 'lab_settings is append-only'); END;
CREATE TRIGGER report_items_no_update BEFORE UPDATE ON report_items
BEGIN SELECT RAISE(ABORT, 'report_items is append-only'); END;
CREATE TRIGGER report_items_no_delete BEFORE DELETE ON report_items
BEGIN SELECT RAISE(ABORT, 'report_items is append-only'); END;
CREATE TRIGGER report_anchors_no_update BEFORE UPDATE ON report_anchors
BEGIN SELECT RAISE(ABORT, 'report_anchors is append-only'); END;
CREATE TRIGGER report_anchors_no_delete BEFORE DELETE ON report_anchors
BEGIN SELECT RAISE(ABORT, 'report_anchors is append-only'); END;
CREATE TRIGGER report_signatures_no_update BEFORE UPDATE ON report_signatures
BEGIN SELECT RAISE(ABORT, 'report_signatures is append-only'); END;
CREATE TRIGGER report_signatures_no_delete BEFORE DELETE ON report_signatures
BEGIN SELECT RAISE(ABORT, 'report_signatures is append-only'); END;
CREATE TRIGGER report_verifications_no_update BEFORE UPDATE ON report_verifications
BEGIN SELECT RAISE(ABORT, 'report_verifications is append-only'); END;
CREATE TRIGGER report_verifications_no_delete BEFORE DELETE ON report_verifications
BEGIN SELECT RAISE(ABORT, 'report_verifications is append-only'); END;
