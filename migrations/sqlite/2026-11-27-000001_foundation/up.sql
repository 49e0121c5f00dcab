-- Foundation schema: every concept of SPEC.md. Ids are UUID text, timestamps UTC
-- (TIMESTAMP without zone), calendar dates ISO 'YYYY-MM-DD' text. Status and kind
-- columns are free text validated by the application so later issues can add
-- values without rebuilding tables.

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    full_name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    language TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    password_changed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE INDEX users_role_idx ON users (role, active);

-- Login throttling lives in the database so every app instance sees it.
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    succeeded BOOLEAN NOT NULL,
    remote_addr TEXT
);
CREATE INDEX login_attempts_username_idx ON login_attempts (username, attempted_at);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL,
    label TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX api_tokens_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Sequences that must never repeat (lab codes per year, report numbers per year),
-- allocated inside the writing transaction so several instances agree.
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);

CREATE TABLE tariff_lines (
    hs_code TEXT PRIMARY KEY NOT NULL,
    section TEXT,
    description TEXT NOT NULL,
    parent TEXT,
    level INTEGER NOT NULL,
    nomenclature TEXT NOT NULL,
    imported_at TIMESTAMP NOT NULL
);
CREATE INDEX tariff_lines_parent_idx ON tariff_lines (parent);

CREATE TABLE storage_locations (
    id TEXT PRIMARY KEY NOT NULL,
    parent_id TEXT REFERENCES storage_locations (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX storage_locations_code_key ON storage_locations (code);
CREATE INDEX storage_locations_parent_idx ON storage_locations (parent_id);

CREATE TABLE seizures (
    id TEXT PRIMARY KEY NOT NULL,
    reference TEXT NOT NULL,
    customs_office TEXT NOT NULL,
    declaration_number TEXT,
    seized_at TIMESTAMP NOT NULL,
    place TEXT NOT NULL,
    seizing_officer TEXT NOT NULL,
    goods_description TEXT NOT NULL,
    declared_hs_code TEXT,
    origin_country TEXT,
    importer TEXT,
    risk_channel TEXT NOT NULL,
    notes TEXT,
    registered_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX seizures_reference_key ON seizures (reference);
CREATE INDEX seizures_declaration_idx ON seizures (declaration_number);
CREATE INDEX seizures_office_idx ON seizures (customs_office, seized_at);
CREATE INDEX seizures_seized_at_idx ON seizures (seized_at, id);
CREATE INDEX seizures_importer_idx ON seizures (importer);

CREATE TABLE samples (
    id TEXT PRIMARY KEY NOT NULL,
    seizure_id TEXT NOT NULL REFERENCES seizures (id),
    parent_id TEXT REFERENCES samples (id),
    lab_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    matrix TEXT,
    quantity DOUBLE PRECISION,
    quantity_unit TEXT,
    package_count INTEGER,
    seal_number TEXT,
    priority TEXT NOT NULL,
    requested_tests TEXT,
    due_date TEXT,
    status TEXT NOT NULL,
    storage_location_id TEXT REFERENCES storage_locations (id),
    received_at TIMESTAMP,
    reported_at TIMESTAMP,
    registered_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX samples_lab_code_key ON samples (lab_code);
CREATE INDEX samples_seizure_idx ON samples (seizure_id);
CREATE INDEX samples_parent_idx ON samples (parent_id);
CREATE INDEX samples_seal_idx ON samples (seal_number);
CREATE INDEX samples_status_idx ON samples (status, created_at, id);
CREATE INDEX samples_created_idx ON samples (created_at, id);
CREATE INDEX samples_due_idx ON samples (due_date);
CREATE INDEX samples_location_idx ON samples (storage_location_id);

-- Append-only, hash-chained per sample: hash = SHA-256(prev_hash || canonical content).
CREATE TABLE custody_events (
    id TEXT PRIMARY KEY NOT NULL,
    sample_id TEXT NOT NULL REFERENCES samples (id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    from_user_id TEXT REFERENCES users (id),
    from_party TEXT,
    to_user_id TEXT REFERENCES users (id),
    to_party TEXT,
    storage_location_id TEXT REFERENCES storage_locations (id),
    place TEXT,
    seal_number TEXT,
    seal_intact BOOLEAN,
    new_seal_number TEXT,
    quantity DOUBLE PRECISION,
    quantity_unit TEXT,
    sample_condition TEXT,
    reason TEXT,
    external_lab TEXT,
    related_sample_id TEXT REFERENCES samples (id),
    witness TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE UNIQUE INDEX custody_events_chain_key ON custody_events (sample_id, seq);
CREATE INDEX custody_events_seal_idx ON custody_events (seal_number);
CREATE INDEX custody_events_new_seal_idx ON custody_events (new_seal_number);
CREATE INDEX custody_events_occurred_idx ON custody_events (occurred_at);

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

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    user_id TEXT REFERENCES users (id),
    username TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT,
    before_json TEXT,
    after_json TEXT,
    remote_addr TEXT
);
CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at, id);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, occurred_at);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_entity_time_idx ON audit_log (entity, occurred_at);

-- Evidence records cannot be changed, not even with plain SQL.
CREATE TRIGGER custody_events_no_update BEFORE UPDATE ON custody_events
BEGIN SELECT RAISE(ABORT, 'custody_events is append-only'); END;
CREATE TRIGGER custody_events_no_delete BEFORE DELETE ON custody_events
BEGIN SELECT RAISE(ABORT, 'custody_events is append-only'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER report_signatures_no_update BEFORE UPDATE ON report_signatures
BEGIN SELECT RAISE(ABORT, 'report_signatures is append-only'); END;
CREATE TRIGGER report_signatures_no_delete BEFORE DELETE ON report_signatures
BEGIN SELECT RAISE(ABORT, 'report_signatures is append-only'); END;
CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments is append-only'); END;
CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments is append-only'); END;
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
