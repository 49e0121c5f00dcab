DROP TABLE report_verifications;
DROP TABLE report_signatures;
DROP TABLE report_anchors;
DROP TABLE report_items;
DROP TABLE report_versions;
DROP TABLE reports;
DROP TABLE lab_settings;

CREATE TABLE reports (
    id TEXT PRIMARY KEY NOT NULL,
    seizure_id TEXT NOT NULL REFERENCES seizures (id),
    sample_id TEXT REFERENCES samples (id),
    report_number TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reports_number_key ON reports (report_number);
CREATE INDEX reports_seizure_idx ON reports (seizure_id);
CREATE INDEX reports_sample_idx ON reports (sample_id);

-- A version is a draft until issued; once issued_at is set the row is frozen
-- (trigger). Superseded is derived: a later issued version names it in supersedes_id.
CREATE TABLE report_versions (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES reports (id),
    version_no INTEGER NOT NULL,
    status TEXT NOT NULL,
    content TEXT NOT NULL,
    conclusion TEXT,
    found_hs_code TEXT,
    tariff_discrepancy BOOLEAN,
    prohibited_found BOOLEAN,
    amendment_reason TEXT,
    supersedes_id TEXT REFERENCES report_versions (id),
    drafted_by TEXT NOT NULL REFERENCES users (id),
    drafted_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    issued_at TIMESTAMP,
    issued_by TEXT REFERENCES users (id),
    signature_meaning TEXT,
    content_sha256 TEXT
);
CREATE UNIQUE INDEX report_versions_key ON report_versions (report_id, version_no);
CREATE INDEX report_versions_issued_idx ON report_versions (issued_at);
CREATE INDEX report_versions_supersedes_idx ON report_versions (supersedes_id);

CREATE TABLE report_signatures (
    id TEXT PRIMARY KEY NOT NULL,
    report_version_id TEXT NOT NULL REFERENCES report_versions (id),
    signer_id TEXT NOT NULL REFERENCES users (id),
    signed_at TIMESTAMP NOT NULL,
    meaning TEXT NOT NULL,
    content_sha256 TEXT NOT NULL
);
CREATE INDEX report_signatures_version_idx ON report_signatures (report_version_id);

CREATE TRIGGER report_signatures_no_update BEFORE UPDATE ON report_signatures
BEGIN SELECT RAISE(ABORT, 'report_signatures is append-only'); END;
CREATE TRIGGER report_signatures_no_delete BEFORE DELETE ON report_signatures
BEGIN SELECT RAISE(ABORT, 'report_signatures is append-only'); END;
CREATE TRIGGER report_versions_issued_no_update BEFORE UPDATE ON report_versions
WHEN OLD.issued_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an issued report version cannot be changed'); END;
CREATE TRIGGER report_versions_issued_no_delete BEFORE DELETE ON report_versions
WHEN OLD.issued_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an issued report version cannot be changed'); END;
CREATE TRIGGER reports_numbered_no_update BEFORE UPDATE ON reports
WHEN OLD.report_number IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an issued report cannot be changed'); END;
CREATE TRIGGER reports_numbered_no_delete BEFORE DELETE ON reports
WHEN OLD.report_number IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an issued report cannot be changed'); END;
