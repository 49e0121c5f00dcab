-- The laboratory's technical records (ISO/IEC 17025:2017 6.2 personnel, 6.4-6.5 equipment,
-- 7.2 methods, 7.5 technical records, 7.6 uncertainty, 7.8.6 decision rules), reshaped while
-- the foundation's tables are still empty on every installation (no code wrote them): later
-- it would cost a rebuild, as SQLite adds multi-column CHECKs only by rebuilding a table and
-- append-only triggers forbid backfilling columns.
-- * Methods are versioned: an analysis cites the version it used, and a new version never
--   touches an old one, so old results keep theirs.
-- * An analysis holds the workflow; its result entries, original observations and the
--   instruments used (with the calibration in force and its due date at that moment) are
--   append-only rows. A change is a new row that supersedes the old one, with a reason.
-- * The database itself checks the four-eyes review, one active authorization per analyst
--   and method, that an assignment's authorization is the analyst's for that method
--   (composite keys), one owner per attachment, the SHA-256 and date formats.
-- * Evidence rows refuse UPDATE and DELETE; an authorization may only be revoked, once; an
--   analysis is frozen once reviewed or cancelled.
-- Calendar dates are ISO 'YYYY-MM-DD' text, checked by lims_is_date (a real date in that
-- format; false rather than an error for anything else, so a bad date is a CHECK violation).

CREATE FUNCTION lims_is_date(d TEXT) RETURNS BOOLEAN LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN d ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND to_char(d::date, 'YYYY-MM-DD') = d;
EXCEPTION WHEN others THEN
    RETURN FALSE;
END
$$;

DROP TABLE attachments;
DROP TABLE analyses;
DROP TABLE method_authorizations;
DROP TABLE training_records;
DROP TABLE maintenance_records;
DROP TABLE calibration_records;
DROP TABLE instruments;
DROP TABLE test_methods;

-- A method's identity; what it measures and how is in its versions.
CREATE TABLE methods (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL CHECK (length(trim(code)) > 0),
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    retired_by TEXT REFERENCES users (id),
    retirement_reason TEXT,
    CHECK ((retired_at IS NULL) = (retired_by IS NULL)),
    CHECK ((retired_at IS NULL) = (retirement_reason IS NULL))
);
CREATE UNIQUE INDEX methods_code_key ON methods (code);

CREATE TABLE method_versions (
    id TEXT PRIMARY KEY NOT NULL,
    method_id TEXT NOT NULL REFERENCES methods (id),
    version_no INTEGER NOT NULL CHECK (version_no >= 1),
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    analyte TEXT,
    technique TEXT,
    -- The standard or in-house procedure followed.
    reference TEXT,
    result_kind TEXT NOT NULL CHECK (result_kind IN ('numeric', 'qualitative', 'text')),
    unit TEXT,
    decimals INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 6),
    spec_min DOUBLE PRECISION,
    spec_min_inclusive BOOLEAN NOT NULL,
    spec_max DOUBLE PRECISION,
    spec_max_inclusive BOOLEAN NOT NULL,
    -- The finding that conforms, one of the options (qualitative methods).
    expected_value TEXT,
    -- The findings an analyst may choose, one per line (qualitative methods).
    qualitative_options TEXT,
    lod DOUBLE PRECISION CHECK (lod >= 0),
    loq DOUBLE PRECISION CHECK (loq >= 0),
    -- Default expanded uncertainty U = k·u: a value in the unit, or relative (percent).
    uncertainty_value DOUBLE PRECISION CHECK (uncertainty_value > 0),
    uncertainty_mode TEXT CHECK (uncertainty_mode IN ('absolute', 'relative')),
    coverage_factor DOUBLE PRECISION CHECK (coverage_factor > 0),
    confidence_percent DOUBLE PRECISION CHECK (confidence_percent > 0 AND confidence_percent < 100),
    -- ILAC-G8: simple acceptance (the value against the limit) or a guard band of width w
    -- (in the unit) inside the limits, where the result is inconclusive.
    decision_rule TEXT CHECK (decision_rule IN ('simple_acceptance', 'guard_band')),
    guard_band DOUBLE PRECISION CHECK (guard_band > 0),
    accredited BOOLEAN NOT NULL,
    change_reason TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (id, method_id),
    CHECK (spec_min IS NULL OR spec_max IS NULL OR spec_min < spec_max
        OR (spec_min = spec_max AND spec_min_inclusive AND spec_max_inclusive)),
    CHECK (lod IS NULL OR loq IS NULL OR lod <= loq),
    CHECK (result_kind = 'numeric' OR (spec_min IS NULL AND spec_max IS NULL AND lod IS NULL
        AND loq IS NULL AND uncertainty_value IS NULL AND guard_band IS NULL)),
    CHECK ((result_kind = 'qualitative') = (qualitative_options IS NOT NULL)),
    CHECK (expected_value IS NULL OR result_kind = 'qualitative'),
    CHECK ((uncertainty_value IS NULL) = (uncertainty_mode IS NULL)
        AND (uncertainty_value IS NULL) = (coverage_factor IS NULL)
        AND (uncertainty_value IS NULL) = (confidence_percent IS NULL)),
    CHECK ((decision_rule IS NOT NULL)
        = (spec_min IS NOT NULL OR spec_max IS NOT NULL OR expected_value IS NOT NULL)),
    CHECK (guard_band IS NULL OR coalesce(decision_rule, '') = 'guard_band'),
    CHECK (decision_rule IS NULL OR decision_rule <> 'guard_band' OR guard_band IS NOT NULL),
    CHECK (version_no = 1 OR length(trim(coalesce(change_reason, ''))) > 0)
);
CREATE UNIQUE INDEX method_versions_key ON method_versions (method_id, version_no);

CREATE TABLE instruments (
    id TEXT PRIMARY KEY NOT NULL,
    asset_tag TEXT NOT NULL CHECK (length(trim(asset_tag)) > 0),
    name TEXT NOT NULL,
    manufacturer TEXT,
    model TEXT,
    serial_number TEXT,
    location TEXT,
    calibration_required BOOLEAN NOT NULL,
    calibration_interval_months INTEGER CHECK (calibration_interval_months BETWEEN 1 AND 120),
    -- The due date of the calibration in force, written with each calibration record in the
    -- same transaction, so the due list reads an index.
    calibration_due_on TEXT CHECK (lims_is_date(calibration_due_on)),
    status TEXT NOT NULL CHECK (status IN ('in_service', 'out_of_service', 'retired')),
    status_reason TEXT,
    status_changed_at TIMESTAMP,
    status_changed_by TEXT REFERENCES users (id),
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (status = 'in_service' OR length(trim(coalesce(status_reason, ''))) > 0),
    CHECK ((status_changed_at IS NULL) = (status_changed_by IS NULL))
);
CREATE UNIQUE INDEX instruments_asset_tag_key ON instruments (asset_tag);
CREATE INDEX instruments_due_idx ON instruments (status, calibration_due_on);

CREATE TABLE calibration_records (
    id TEXT PRIMARY KEY NOT NULL,
    instrument_id TEXT NOT NULL REFERENCES instruments (id),
    performed_on TEXT NOT NULL CHECK (lims_is_date(performed_on)),
    -- The calibration laboratory or person.
    performed_by TEXT NOT NULL,
    certificate_number TEXT,
    result TEXT NOT NULL CHECK (result IN ('pass', 'adjusted', 'fail')),
    next_due_on TEXT NOT NULL CHECK (lims_is_date(next_due_on)),
    notes TEXT,
    supersedes_id TEXT,
    correction_reason TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (id, instrument_id),
    FOREIGN KEY (supersedes_id, instrument_id) REFERENCES calibration_records (id, instrument_id),
    CHECK (next_due_on > performed_on),
    CHECK ((supersedes_id IS NULL) = (correction_reason IS NULL)),
    CHECK (correction_reason IS NULL OR length(trim(correction_reason)) > 0)
);
CREATE INDEX calibration_records_instrument_idx ON calibration_records (instrument_id, performed_on);
CREATE UNIQUE INDEX calibration_records_supersedes_key ON calibration_records (supersedes_id);

CREATE TABLE maintenance_records (
    id TEXT PRIMARY KEY NOT NULL,
    instrument_id TEXT NOT NULL REFERENCES instruments (id),
    performed_on TEXT NOT NULL CHECK (lims_is_date(performed_on)),
    performed_by TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('preventive', 'corrective', 'verification')),
    description TEXT NOT NULL CHECK (length(trim(description)) > 0),
    supersedes_id TEXT,
    correction_reason TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (id, instrument_id),
    FOREIGN KEY (supersedes_id, instrument_id) REFERENCES maintenance_records (id, instrument_id),
    CHECK ((supersedes_id IS NULL) = (correction_reason IS NULL)),
    CHECK (correction_reason IS NULL OR length(trim(correction_reason)) > 0)
);
CREATE INDEX maintenance_records_instrument_idx ON maintenance_records (instrument_id, performed_on);
CREATE UNIQUE INDEX maintenance_records_supersedes_key ON maintenance_records (supersedes_id);

CREATE TABLE training_records (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    course TEXT NOT NULL CHECK (length(trim(course)) > 0),
    trainer TEXT,
    completed_on TEXT NOT NULL CHECK (lims_is_date(completed_on)),
    valid_until TEXT CHECK (lims_is_date(valid_until)),
    -- The competence assessment: by whom (never the trainee), when, with what result.
    assessed_by TEXT REFERENCES users (id),
    assessed_on TEXT CHECK (lims_is_date(assessed_on)),
    assessment_result TEXT CHECK (assessment_result IN ('competent', 'not_competent')),
    assessment_notes TEXT,
    notes TEXT,
    supersedes_id TEXT,
    correction_reason TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (id, user_id),
    FOREIGN KEY (supersedes_id, user_id) REFERENCES training_records (id, user_id),
    CHECK (valid_until IS NULL OR valid_until > completed_on),
    CHECK ((assessed_by IS NULL) = (assessed_on IS NULL)
        AND (assessed_by IS NULL) = (assessment_result IS NULL)),
    CHECK (assessed_on IS NULL OR assessed_on >= completed_on),
    CHECK (assessed_by IS NULL OR assessed_by <> user_id),
    CHECK ((supersedes_id IS NULL) = (correction_reason IS NULL)),
    CHECK (correction_reason IS NULL OR length(trim(correction_reason)) > 0)
);
CREATE INDEX training_records_user_idx ON training_records (user_id, completed_on);
CREATE UNIQUE INDEX training_records_supersedes_key ON training_records (supersedes_id);

CREATE TABLE method_authorizations (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    method_id TEXT NOT NULL REFERENCES methods (id),
    -- Why the analyst is competent: training, assessment, experience.
    basis TEXT NOT NULL CHECK (length(trim(basis)) > 0),
    training_record_id TEXT,
    granted_by TEXT NOT NULL REFERENCES users (id),
    granted_on TEXT NOT NULL CHECK (lims_is_date(granted_on)),
    expires_on TEXT CHECK (lims_is_date(expires_on)),
    revoked_at TIMESTAMP,
    revoked_by TEXT REFERENCES users (id),
    revocation_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (id, user_id, method_id),
    FOREIGN KEY (training_record_id, user_id) REFERENCES training_records (id, user_id),
    CHECK (granted_by <> user_id),
    CHECK (expires_on IS NULL OR expires_on > granted_on),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)
        AND (revoked_at IS NULL) = (revocation_reason IS NULL)),
    CHECK (revocation_reason IS NULL OR length(trim(revocation_reason)) > 0)
);
-- At most one authorization in force (not revoked) per analyst and method.
CREATE UNIQUE INDEX method_authorizations_active_key ON method_authorizations (user_id, method_id)
WHERE revoked_at IS NULL;
CREATE INDEX method_authorizations_method_idx ON method_authorizations (method_id);

CREATE TABLE analyses (
    id TEXT PRIMARY KEY NOT NULL,
    sample_id TEXT NOT NULL REFERENCES samples (id),
    method_id TEXT NOT NULL REFERENCES methods (id),
    method_version_id TEXT NOT NULL,
    analyst_id TEXT REFERENCES users (id),
    -- The authorization that allowed the assignment: the analyst's, for this method.
    authorization_id TEXT,
    assigned_by TEXT NOT NULL REFERENCES users (id),
    assigned_at TIMESTAMP NOT NULL,
    due_on TEXT CHECK (lims_is_date(due_on)),
    status TEXT NOT NULL CHECK (status IN ('assigned', 'in_progress', 'submitted', 'approved',
        'rejected', 'cancelled')),
    retest_of_id TEXT REFERENCES analyses (id),
    is_external BOOLEAN NOT NULL,
    external_lab TEXT,
    external_accreditation TEXT,
    external_report_ref TEXT,
    -- The custody events of the referral (sent_external) and of the return.
    referral_event_id TEXT REFERENCES custody_events (id),
    return_event_id TEXT REFERENCES custody_events (id),
    started_at TIMESTAMP,
    submitted_at TIMESTAMP,
    submitted_by TEXT REFERENCES users (id),
    reviewed_at TIMESTAMP,
    reviewed_by TEXT REFERENCES users (id),
    review_decision TEXT CHECK (review_decision IN ('approved', 'rejected')),
    rejection_reason TEXT,
    cancellation_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    FOREIGN KEY (method_version_id, method_id) REFERENCES method_versions (id, method_id),
    FOREIGN KEY (authorization_id, analyst_id, method_id)
        REFERENCES method_authorizations (id, user_id, method_id),
    CHECK (retest_of_id IS NULL OR retest_of_id <> id),
    CHECK (is_external OR (analyst_id IS NOT NULL AND authorization_id IS NOT NULL
        AND external_lab IS NULL AND external_accreditation IS NULL
        AND external_report_ref IS NULL AND referral_event_id IS NULL AND return_event_id IS NULL)),
    CHECK (NOT is_external OR (analyst_id IS NULL AND authorization_id IS NULL
        AND length(trim(coalesce(external_lab, ''))) > 0
        AND length(trim(coalesce(external_report_ref, ''))) > 0)),
    CHECK ((submitted_at IS NULL) = (submitted_by IS NULL)),
    CHECK (status NOT IN ('submitted', 'approved', 'rejected') OR submitted_at IS NOT NULL),
    CHECK ((reviewed_at IS NULL) = (reviewed_by IS NULL)),
    CHECK ((reviewed_at IS NULL) = (review_decision IS NULL)),
    CHECK (reviewed_at IS NULL OR reviewed_at >= submitted_at),
    CHECK (review_decision IS NULL OR review_decision = status),
    CHECK (status NOT IN ('approved', 'rejected') OR review_decision IS NOT NULL),
    -- Four eyes: the reviewer neither performed nor submitted the result.
    CHECK (reviewed_by IS NULL OR analyst_id IS NULL OR reviewed_by <> analyst_id),
    CHECK (reviewed_by IS NULL OR reviewed_by <> submitted_by),
    CHECK (review_decision IS NULL OR review_decision <> 'rejected'
        OR length(trim(coalesce(rejection_reason, ''))) > 0),
    CHECK (rejection_reason IS NULL OR coalesce(review_decision, '') = 'rejected'),
    CHECK ((status = 'cancelled') = (cancellation_reason IS NOT NULL)),
    CHECK (cancellation_reason IS NULL OR length(trim(cancellation_reason)) > 0)
);
CREATE INDEX analyses_sample_idx ON analyses (sample_id);
CREATE INDEX analyses_analyst_idx ON analyses (analyst_id, status, due_on);
CREATE INDEX analyses_status_idx ON analyses (status, submitted_at, id);
CREATE INDEX analyses_method_version_idx ON analyses (method_version_id);
CREATE INDEX analyses_authorization_idx ON analyses (authorization_id);
CREATE UNIQUE INDEX analyses_retest_key ON analyses (retest_of_id);

-- What was entered as the result, entry after entry; the one with the highest seq is current.
CREATE TABLE analysis_results (
    id TEXT PRIMARY KEY NOT NULL,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    supersedes_id TEXT,
    -- Exactly as typed, e.g. '<0,05' or '12,50'.
    raw_value TEXT,
    numeric_value DOUBLE PRECISION,
    qualifier TEXT NOT NULL CHECK (qualifier IN ('eq', 'lt', 'gt', 'below_lod', 'below_loq',
        'not_detected')),
    -- A qualitative finding or a text result.
    finding TEXT,
    unit TEXT,
    lod DOUBLE PRECISION CHECK (lod >= 0),
    loq DOUBLE PRECISION CHECK (loq >= 0),
    -- Expanded uncertainty, in the unit, and its coverage factor.
    uncertainty DOUBLE PRECISION CHECK (uncertainty > 0),
    coverage_factor DOUBLE PRECISION CHECK (coverage_factor > 0),
    -- The specification and decision rule applied, and the conformity that follows.
    spec_min DOUBLE PRECISION,
    spec_min_inclusive BOOLEAN NOT NULL,
    spec_max DOUBLE PRECISION,
    spec_max_inclusive BOOLEAN NOT NULL,
    expected_value TEXT,
    decision_rule TEXT CHECK (decision_rule IN ('simple_acceptance', 'guard_band')),
    guard_band DOUBLE PRECISION CHECK (guard_band > 0),
    conformity TEXT CHECK (conformity IN ('pass', 'fail', 'inconclusive')),
    deviations TEXT,
    remarks TEXT,
    change_reason TEXT,
    entered_by TEXT NOT NULL REFERENCES users (id),
    entered_at TIMESTAMP NOT NULL,
    UNIQUE (analysis_id, seq),
    UNIQUE (id, analysis_id),
    FOREIGN KEY (supersedes_id, analysis_id) REFERENCES analysis_results (id, analysis_id),
    CHECK ((seq = 1) = (supersedes_id IS NULL)),
    CHECK (seq = 1 OR length(trim(coalesce(change_reason, ''))) > 0),
    CHECK (raw_value IS NOT NULL OR finding IS NOT NULL),
    CHECK (qualifier NOT IN ('eq', 'lt', 'gt') OR numeric_value IS NOT NULL),
    CHECK (qualifier <> 'below_lod' OR lod IS NOT NULL),
    CHECK (qualifier <> 'below_loq' OR loq IS NOT NULL),
    CHECK (lod IS NULL OR loq IS NULL OR lod <= loq),
    CHECK ((uncertainty IS NULL) = (coverage_factor IS NULL)),
    CHECK (spec_min IS NULL OR spec_max IS NULL OR spec_min <= spec_max),
    CHECK (guard_band IS NULL OR coalesce(decision_rule, '') = 'guard_band'),
    CHECK (decision_rule IS NULL OR decision_rule <> 'guard_band' OR guard_band IS NOT NULL),
    CHECK (conformity IS NULL OR decision_rule IS NOT NULL)
);
CREATE UNIQUE INDEX analysis_results_supersedes_key ON analysis_results (supersedes_id);

-- Original observations: weighings, volumes, replicates, dilution factors, readings.
CREATE TABLE analysis_observations (
    id TEXT PRIMARY KEY NOT NULL,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    seq INTEGER NOT NULL CHECK (seq >= 1),
    kind TEXT NOT NULL CHECK (kind IN ('weighing', 'volume', 'replicate', 'dilution_factor',
        'reading', 'other')),
    label TEXT NOT NULL CHECK (length(trim(label)) > 0),
    raw_value TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    unit TEXT,
    instrument_id TEXT REFERENCES instruments (id),
    observed_at TIMESTAMP NOT NULL,
    supersedes_id TEXT,
    change_reason TEXT,
    entered_by TEXT NOT NULL REFERENCES users (id),
    entered_at TIMESTAMP NOT NULL,
    UNIQUE (analysis_id, seq),
    UNIQUE (id, analysis_id),
    FOREIGN KEY (supersedes_id, analysis_id) REFERENCES analysis_observations (id, analysis_id),
    CHECK ((supersedes_id IS NULL) = (change_reason IS NULL)),
    CHECK (change_reason IS NULL OR length(trim(change_reason)) > 0),
    CHECK (kind <> 'dilution_factor' OR value > 0)
);
CREATE UNIQUE INDEX analysis_observations_supersedes_key ON analysis_observations (supersedes_id);

-- An instrument used for an analysis (and, once entered, for a result entry), with its state
-- at that moment: SPEC refuses an instrument out of service or past its calibration due date.
CREATE TABLE analysis_instruments (
    id TEXT PRIMARY KEY NOT NULL,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    result_id TEXT,
    instrument_id TEXT NOT NULL REFERENCES instruments (id),
    used_on TEXT NOT NULL CHECK (lims_is_date(used_on)),
    instrument_status TEXT NOT NULL CHECK (instrument_status IN ('in_service', 'out_of_service',
        'retired')),
    calibration_record_id TEXT,
    calibration_due_on TEXT CHECK (lims_is_date(calibration_due_on)),
    calibration_status TEXT NOT NULL CHECK (calibration_status IN ('valid', 'not_required',
        'overdue', 'failed', 'missing')),
    recorded_by TEXT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    FOREIGN KEY (result_id, analysis_id) REFERENCES analysis_results (id, analysis_id),
    FOREIGN KEY (calibration_record_id, instrument_id)
        REFERENCES calibration_records (id, instrument_id),
    CHECK (instrument_status = 'in_service'),
    CHECK (calibration_status IN ('valid', 'not_required')),
    CHECK ((calibration_status = 'valid') = (calibration_record_id IS NOT NULL)),
    CHECK ((calibration_record_id IS NULL) = (calibration_due_on IS NULL)),
    CHECK (calibration_due_on IS NULL OR calibration_due_on >= used_on)
);
CREATE INDEX analysis_instruments_analysis_idx ON analysis_instruments (analysis_id);
CREATE INDEX analysis_instruments_instrument_idx ON analysis_instruments (instrument_id, used_on);

-- A file kept as evidence; the bytes live in LIMS_STORAGE_URL under their SHA-256. Exactly one
-- owner, of a known kind (an external laboratory's report belongs to its analysis).
CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('sample', 'analysis', 'calibration',
        'training', 'external_report', 'report_version')),
    sample_id TEXT REFERENCES samples (id),
    analysis_id TEXT REFERENCES analyses (id),
    calibration_record_id TEXT REFERENCES calibration_records (id),
    training_record_id TEXT REFERENCES training_records (id),
    report_version_id TEXT REFERENCES report_versions (id),
    file_name TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0 AND size_bytes <= 10737418240),
    sha256 TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key TEXT NOT NULL,
    description TEXT,
    uploaded_by TEXT NOT NULL REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL,
    CHECK ((owner_kind = 'sample') = (sample_id IS NOT NULL)),
    CHECK ((owner_kind IN ('analysis', 'external_report')) = (analysis_id IS NOT NULL)),
    CHECK ((owner_kind = 'calibration') = (calibration_record_id IS NOT NULL)),
    CHECK ((owner_kind = 'training') = (training_record_id IS NOT NULL)),
    CHECK ((owner_kind = 'report_version') = (report_version_id IS NOT NULL))
);
CREATE INDEX attachments_sample_idx ON attachments (sample_id);
CREATE INDEX attachments_analysis_idx ON attachments (analysis_id);
CREATE INDEX attachments_calibration_idx ON attachments (calibration_record_id);
CREATE INDEX attachments_training_idx ON attachments (training_record_id);
CREATE INDEX attachments_report_version_idx ON attachments (report_version_id);
CREATE INDEX attachments_sha256_idx ON attachments (sha256);

-- A mistaken upload is withdrawn, once, with a reason; its file is never deleted.
CREATE TABLE attachment_withdrawals (
    id TEXT PRIMARY KEY NOT NULL,
    attachment_id TEXT NOT NULL REFERENCES attachments (id),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    withdrawn_by TEXT NOT NULL REFERENCES users (id),
    withdrawn_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX attachment_withdrawals_attachment_key ON attachment_withdrawals (attachment_id);

-- Evidence records cannot be changed, not even with plain SQL (lims_refuse_change comes with
-- the foundation).
CREATE TRIGGER method_versions_append_only BEFORE UPDATE OR DELETE ON method_versions
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER method_versions_no_truncate BEFORE TRUNCATE ON method_versions
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER calibration_records_append_only BEFORE UPDATE OR DELETE ON calibration_records
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER calibration_records_no_truncate BEFORE TRUNCATE ON calibration_records
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER maintenance_records_append_only BEFORE UPDATE OR DELETE ON maintenance_records
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER maintenance_records_no_truncate BEFORE TRUNCATE ON maintenance_records
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER training_records_append_only BEFORE UPDATE OR DELETE ON training_records
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER training_records_no_truncate BEFORE TRUNCATE ON training_records
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analysis_results_append_only BEFORE UPDATE OR DELETE ON analysis_results
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analysis_results_no_truncate BEFORE TRUNCATE ON analysis_results
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analysis_observations_append_only BEFORE UPDATE OR DELETE ON analysis_observations
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analysis_observations_no_truncate BEFORE TRUNCATE ON analysis_observations
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analysis_instruments_append_only BEFORE UPDATE OR DELETE ON analysis_instruments
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analysis_instruments_no_truncate BEFORE TRUNCATE ON analysis_instruments
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER attachments_append_only BEFORE UPDATE OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER attachments_no_truncate BEFORE TRUNCATE ON attachments
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER attachment_withdrawals_append_only BEFORE UPDATE OR DELETE ON attachment_withdrawals
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER attachment_withdrawals_no_truncate BEFORE TRUNCATE ON attachment_withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
-- An authorization is never deleted; only its revocation may be written, once.
CREATE FUNCTION lims_authorization_revoke_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL
        OR (NEW.id, NEW.user_id, NEW.method_id, NEW.basis, NEW.training_record_id,
            NEW.granted_by, NEW.granted_on, NEW.expires_on, NEW.created_at)
        IS DISTINCT FROM (OLD.id, OLD.user_id, OLD.method_id, OLD.basis, OLD.training_record_id,
            OLD.granted_by, OLD.granted_on, OLD.expires_on, OLD.created_at) THEN
        RAISE EXCEPTION 'UPDATE on method_authorizations refused: append-only, only a revocation may be recorded, once'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER method_authorizations_revoke_only BEFORE UPDATE ON method_authorizations
    FOR EACH ROW EXECUTE FUNCTION lims_authorization_revoke_only();
CREATE TRIGGER method_authorizations_no_delete BEFORE DELETE ON method_authorizations
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER method_authorizations_no_truncate BEFORE TRUNCATE ON method_authorizations
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
-- An analysis is never deleted, and once reviewed or cancelled it is frozen: a correction
-- after approval is a retest.
CREATE TRIGGER analyses_closed_frozen BEFORE UPDATE ON analyses
    FOR EACH ROW WHEN (OLD.status IN ('approved', 'rejected', 'cancelled'))
    EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analyses_no_delete BEFORE DELETE ON analyses
    FOR EACH ROW EXECUTE FUNCTION lims_refuse_change();
CREATE TRIGGER analyses_no_truncate BEFORE TRUNCATE ON analyses
    FOR EACH STATEMENT EXECUTE FUNCTION lims_refuse_change();
