-- Back to the foundation's shapes of these tables (empty, as they were).
DROP TABLE attachment_withdrawals;
DROP TABLE attachments;
DROP TABLE analysis_instruments;
DROP TABLE analysis_observations;
DROP TABLE analysis_results;
DROP TABLE analyses;
DROP TABLE method_authorizations;
DROP TABLE training_records;
DROP TABLE maintenance_records;
DROP TABLE calibration_records;
DROP TABLE instruments;
DROP TABLE method_versions;
DROP TABLE methods;

CREATE TABLE test_methods (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    analyte TEXT,
    technique TEXT,
    unit TEXT,
    result_type TEXT NOT NULL,
    spec_min DOUBLE PRECISION,
    spec_max DOUBLE PRECISION,
    spec_text TEXT,
    decimals INTEGER NOT NULL,
    accredited BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX test_methods_code_key ON test_methods (code);

CREATE TABLE instruments (
    id TEXT PRIMARY KEY NOT NULL,
    asset_tag TEXT NOT NULL,
    name TEXT NOT NULL,
    manufacturer TEXT,
    model TEXT,
    serial_number TEXT,
    location TEXT,
    status TEXT NOT NULL,
    calibration_due_on TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX instruments_asset_tag_key ON instruments (asset_tag);
CREATE INDEX instruments_due_idx ON instruments (status, calibration_due_on);

CREATE TABLE calibration_records (
    id TEXT PRIMARY KEY NOT NULL,
    instrument_id TEXT NOT NULL REFERENCES instruments (id),
    performed_on TEXT NOT NULL,
    performed_by TEXT NOT NULL,
    certificate_number TEXT,
    next_due_on TEXT NOT NULL,
    result TEXT NOT NULL,
    notes TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX calibration_records_instrument_idx ON calibration_records (instrument_id, performed_on);

CREATE TABLE maintenance_records (
    id TEXT PRIMARY KEY NOT NULL,
    instrument_id TEXT NOT NULL REFERENCES instruments (id),
    performed_on TEXT NOT NULL,
    performed_by TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX maintenance_records_instrument_idx ON maintenance_records (instrument_id, performed_on);

CREATE TABLE training_records (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    course TEXT NOT NULL,
    completed_on TEXT NOT NULL,
    trainer TEXT,
    evidence TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX training_records_user_idx ON training_records (user_id, completed_on);

CREATE TABLE method_authorizations (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    method_id TEXT NOT NULL REFERENCES test_methods (id),
    granted_by TEXT NOT NULL REFERENCES users (id),
    granted_on TEXT NOT NULL,
    expires_on TEXT,
    revoked_at TIMESTAMP,
    revoked_by TEXT REFERENCES users (id),
    notes TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX method_authorizations_user_idx ON method_authorizations (user_id, method_id);
CREATE INDEX method_authorizations_method_idx ON method_authorizations (method_id);

CREATE TABLE analyses (
    id TEXT PRIMARY KEY NOT NULL,
    sample_id TEXT NOT NULL REFERENCES samples (id),
    method_id TEXT NOT NULL REFERENCES test_methods (id),
    analyst_id TEXT REFERENCES users (id),
    assigned_by TEXT NOT NULL REFERENCES users (id),
    assigned_at TIMESTAMP NOT NULL,
    due_date TEXT,
    status TEXT NOT NULL,
    retest_of_id TEXT REFERENCES analyses (id),
    instrument_id TEXT REFERENCES instruments (id),
    result_value TEXT,
    result_numeric DOUBLE PRECISION,
    result_unit TEXT,
    uncertainty TEXT,
    lod TEXT,
    loq TEXT,
    qualitative_result TEXT,
    result_text TEXT,
    out_of_spec BOOLEAN,
    is_external BOOLEAN NOT NULL DEFAULT FALSE,
    external_lab TEXT,
    external_report_ref TEXT,
    performed_at TIMESTAMP,
    submitted_at TIMESTAMP,
    submitted_by TEXT REFERENCES users (id),
    reviewed_at TIMESTAMP,
    reviewed_by TEXT REFERENCES users (id),
    review_decision TEXT,
    rejection_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX analyses_sample_idx ON analyses (sample_id);
CREATE INDEX analyses_analyst_idx ON analyses (analyst_id, status);
CREATE INDEX analyses_status_idx ON analyses (status, assigned_at);
CREATE INDEX analyses_retest_idx ON analyses (retest_of_id);
CREATE INDEX analyses_instrument_idx ON analyses (instrument_id);

-- Raw data files; the bytes live in LIMS_STORAGE_URL, the row records their hash.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    sample_id TEXT REFERENCES samples (id),
    analysis_id TEXT REFERENCES analyses (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    description TEXT,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_analysis_idx ON attachments (analysis_id);
CREATE INDEX attachments_sample_idx ON attachments (sample_id);

CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments is append-only'); END;
CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments is append-only'); END;
