// Diesel table definitions shared by both backends (see migrations/{sqlite,postgres}).
// Written by hand from the migrations; keep the two in step.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        full_name -> Text,
        email -> Nullable<Text>,
        role -> Text,
        password_hash -> Text,
        language -> Nullable<Text>,
        active -> Bool,
        password_changed_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> Text,
        username -> Text,
        attempted_at -> Timestamp,
        succeeded -> Bool,
        remote_addr -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    tariff_lines (hs_code) {
        hs_code -> Text,
        section -> Nullable<Text>,
        description -> Text,
        parent -> Nullable<Text>,
        level -> Integer,
        nomenclature -> Text,
        imported_at -> Timestamp,
        description_es -> Nullable<Text>,
    }
}

diesel::table! {
    storage_locations (id) {
        id -> Text,
        parent_id -> Nullable<Text>,
        code -> Text,
        name -> Text,
        kind -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    seizures (id) {
        id -> Text,
        reference -> Text,
        customs_office -> Text,
        declaration_number -> Nullable<Text>,
        seized_at -> Timestamp,
        place -> Text,
        seizing_officer -> Text,
        goods_description -> Text,
        declared_hs_code -> Nullable<Text>,
        origin_country -> Nullable<Text>,
        importer -> Nullable<Text>,
        risk_channel -> Text,
        notes -> Nullable<Text>,
        registered_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    samples (id) {
        id -> Text,
        seizure_id -> Text,
        parent_id -> Nullable<Text>,
        lab_code -> Text,
        kind -> Text,
        description -> Text,
        matrix -> Nullable<Text>,
        quantity -> Nullable<Double>,
        quantity_unit -> Nullable<Text>,
        package_count -> Nullable<Integer>,
        seal_number -> Nullable<Text>,
        priority -> Text,
        requested_tests -> Nullable<Text>,
        due_date -> Nullable<Text>,
        status -> Text,
        storage_location_id -> Nullable<Text>,
        received_at -> Nullable<Timestamp>,
        reported_at -> Nullable<Timestamp>,
        registered_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        retained_until -> Nullable<Text>,
        custody_head_seq -> Nullable<BigInt>,
        custody_head_hash -> Nullable<Text>,
        receipt_exceptions -> Nullable<Text>,
        holder_id -> Nullable<Text>,
    }
}

diesel::table! {
    custody_events (id) {
        id -> Text,
        sample_id -> Text,
        seq -> BigInt,
        kind -> Text,
        occurred_at -> Timestamp,
        recorded_at -> Timestamp,
        recorded_by -> Text,
        from_user_id -> Nullable<Text>,
        from_party -> Nullable<Text>,
        to_user_id -> Nullable<Text>,
        to_party -> Nullable<Text>,
        storage_location_id -> Nullable<Text>,
        place -> Nullable<Text>,
        seal_number -> Nullable<Text>,
        seal_intact -> Nullable<Bool>,
        new_seal_number -> Nullable<Text>,
        quantity -> Nullable<Double>,
        quantity_unit -> Nullable<Text>,
        sample_condition -> Nullable<Text>,
        reason -> Nullable<Text>,
        external_lab -> Nullable<Text>,
        related_sample_id -> Nullable<Text>,
        witness -> Nullable<Text>,
        prev_hash -> Text,
        hash -> Text,
        retained_until -> Nullable<Text>,
        quantity_sufficient -> Nullable<Bool>,
        key_id -> Nullable<Text>,
        witness_user_id -> Nullable<Text>,
        witness_document -> Nullable<Text>,
        override_reason -> Nullable<Text>,
    }
}

diesel::table! {
    custody_seals (sample_id) {
        sample_id -> Text,
        seq -> BigInt,
        hash -> Text,
        key_id -> Text,
        mac -> Text,
        sealed_at -> Timestamp,
    }
}

diesel::table! {
    custody_verifications (id) {
        id -> Text,
        started_by -> Text,
        started_at -> Timestamp,
        heartbeat_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        samples_total -> BigInt,
        samples_checked -> BigInt,
        events_checked -> BigInt,
        broken -> BigInt,
        breaks_json -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    methods (id) {
        id -> Text,
        code -> Text,
        current_version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
        retired_by -> Nullable<Text>,
        retirement_reason -> Nullable<Text>,
    }
}

diesel::table! {
    method_versions (id) {
        id -> Text,
        method_id -> Text,
        version_no -> Integer,
        name -> Text,
        analyte -> Nullable<Text>,
        technique -> Nullable<Text>,
        reference -> Nullable<Text>,
        result_kind -> Text,
        unit -> Nullable<Text>,
        decimals -> Integer,
        spec_min -> Nullable<Double>,
        spec_min_inclusive -> Bool,
        spec_max -> Nullable<Double>,
        spec_max_inclusive -> Bool,
        expected_value -> Nullable<Text>,
        qualitative_options -> Nullable<Text>,
        lod -> Nullable<Double>,
        loq -> Nullable<Double>,
        uncertainty_value -> Nullable<Double>,
        uncertainty_mode -> Nullable<Text>,
        coverage_factor -> Nullable<Double>,
        confidence_percent -> Nullable<Double>,
        decision_rule -> Nullable<Text>,
        guard_band -> Nullable<Double>,
        accredited -> Bool,
        change_reason -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    instruments (id) {
        id -> Text,
        asset_tag -> Text,
        name -> Text,
        manufacturer -> Nullable<Text>,
        model -> Nullable<Text>,
        serial_number -> Nullable<Text>,
        location -> Nullable<Text>,
        calibration_required -> Bool,
        calibration_interval_months -> Nullable<Integer>,
        calibration_due_on -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        status_changed_at -> Nullable<Timestamp>,
        status_changed_by -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    calibration_records (id) {
        id -> Text,
        instrument_id -> Text,
        performed_on -> Text,
        performed_by -> Text,
        certificate_number -> Nullable<Text>,
        result -> Text,
        next_due_on -> Text,
        notes -> Nullable<Text>,
        supersedes_id -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    maintenance_records (id) {
        id -> Text,
        instrument_id -> Text,
        performed_on -> Text,
        performed_by -> Text,
        kind -> Text,
        description -> Text,
        supersedes_id -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    training_records (id) {
        id -> Text,
        user_id -> Text,
        course -> Text,
        trainer -> Nullable<Text>,
        completed_on -> Text,
        valid_until -> Nullable<Text>,
        assessed_by -> Nullable<Text>,
        assessed_on -> Nullable<Text>,
        assessment_result -> Nullable<Text>,
        assessment_notes -> Nullable<Text>,
        notes -> Nullable<Text>,
        supersedes_id -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    method_authorizations (id) {
        id -> Text,
        user_id -> Text,
        method_id -> Text,
        basis -> Text,
        training_record_id -> Nullable<Text>,
        granted_by -> Text,
        granted_on -> Text,
        expires_on -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        revoked_by -> Nullable<Text>,
        revocation_reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    analyses (id) {
        id -> Text,
        sample_id -> Text,
        method_id -> Text,
        method_version_id -> Text,
        analyst_id -> Nullable<Text>,
        authorization_id -> Nullable<Text>,
        assigned_by -> Text,
        assigned_at -> Timestamp,
        due_on -> Nullable<Text>,
        status -> Text,
        retest_of_id -> Nullable<Text>,
        is_external -> Bool,
        external_lab -> Nullable<Text>,
        external_accreditation -> Nullable<Text>,
        external_report_ref -> Nullable<Text>,
        referral_event_id -> Nullable<Text>,
        return_event_id -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        submitted_at -> Nullable<Timestamp>,
        submitted_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        reviewed_by -> Nullable<Text>,
        review_decision -> Nullable<Text>,
        rejection_reason -> Nullable<Text>,
        cancellation_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    analysis_results (id) {
        id -> Text,
        analysis_id -> Text,
        seq -> Integer,
        supersedes_id -> Nullable<Text>,
        raw_value -> Nullable<Text>,
        numeric_value -> Nullable<Double>,
        qualifier -> Text,
        finding -> Nullable<Text>,
        unit -> Nullable<Text>,
        lod -> Nullable<Double>,
        loq -> Nullable<Double>,
        uncertainty -> Nullable<Double>,
        coverage_factor -> Nullable<Double>,
        spec_min -> Nullable<Double>,
        spec_min_inclusive -> Bool,
        spec_max -> Nullable<Double>,
        spec_max_inclusive -> Bool,
        expected_value -> Nullable<Text>,
        decision_rule -> Nullable<Text>,
        guard_band -> Nullable<Double>,
        conformity -> Nullable<Text>,
        deviations -> Nullable<Text>,
        remarks -> Nullable<Text>,
        change_reason -> Nullable<Text>,
        entered_by -> Text,
        entered_at -> Timestamp,
    }
}

diesel::table! {
    analysis_observations (id) {
        id -> Text,
        analysis_id -> Text,
        seq -> Integer,
        kind -> Text,
        label -> Text,
        raw_value -> Text,
        value -> Double,
        unit -> Nullable<Text>,
        instrument_id -> Nullable<Text>,
        observed_at -> Timestamp,
        supersedes_id -> Nullable<Text>,
        change_reason -> Nullable<Text>,
        entered_by -> Text,
        entered_at -> Timestamp,
    }
}

diesel::table! {
    analysis_instruments (id) {
        id -> Text,
        analysis_id -> Text,
        result_id -> Nullable<Text>,
        instrument_id -> Text,
        used_on -> Text,
        instrument_status -> Text,
        calibration_record_id -> Nullable<Text>,
        calibration_due_on -> Nullable<Text>,
        calibration_status -> Text,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> Text,
        owner_kind -> Text,
        sample_id -> Nullable<Text>,
        analysis_id -> Nullable<Text>,
        calibration_record_id -> Nullable<Text>,
        training_record_id -> Nullable<Text>,
        report_version_id -> Nullable<Text>,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        storage_key -> Text,
        description -> Nullable<Text>,
        uploaded_by -> Text,
        uploaded_at -> Timestamp,
    }
}

diesel::table! {
    attachment_withdrawals (id) {
        id -> Text,
        attachment_id -> Text,
        reason -> Text,
        withdrawn_by -> Text,
        withdrawn_at -> Timestamp,
    }
}

diesel::table! {
    lab_settings (id) {
        id -> Text,
        name -> Text,
        address -> Text,
        accreditation_number -> Nullable<Text>,
        accreditation_body -> Nullable<Text>,
        logo_storage_key -> Nullable<Text>,
        logo_sha256 -> Nullable<Text>,
        logo_content_type -> Nullable<Text>,
        report_locale -> Text,
        require_second_signature -> Bool,
        changed_by -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    reports (id) {
        id -> Text,
        seizure_id -> Text,
        sample_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    report_versions (id) {
        id -> Text,
        report_id -> Text,
        version_no -> Integer,
        format_version -> Integer,
        locale -> Text,
        status -> Text,
        lab_settings_id -> Text,
        content -> Text,
        conclusion -> Nullable<Text>,
        opinion -> Nullable<Text>,
        deviations -> Nullable<Text>,
        decision_rule -> Nullable<Text>,
        found_hs_code -> Nullable<Text>,
        declared_hs_code -> Nullable<Text>,
        tariff_difference -> Nullable<Text>,
        controlled_found -> Bool,
        prohibited_found -> Bool,
        counterfeit_found -> Bool,
        finding_note -> Nullable<Text>,
        amendment_reason -> Nullable<Text>,
        supersedes_id -> Nullable<Text>,
        report_number -> Nullable<Text>,
        content_sha256 -> Nullable<Text>,
        drafted_by -> Text,
        drafted_at -> Timestamp,
        updated_at -> Timestamp,
        issued_at -> Nullable<Timestamp>,
        issued_by -> Nullable<Text>,
        pdf_sha256 -> Nullable<Text>,
        discarded_reason -> Nullable<Text>,
    }
}

diesel::table! {
    report_items (report_version_id, analysis_id) {
        report_version_id -> Text,
        analysis_id -> Text,
        sample_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    report_anchors (report_version_id, sample_id) {
        report_version_id -> Text,
        sample_id -> Text,
        custody_seq -> BigInt,
        custody_hash -> Text,
    }
}

diesel::table! {
    report_signatures (id) {
        id -> Text,
        report_version_id -> Text,
        signer_id -> Text,
        signer_name -> Text,
        signer_username -> Text,
        signer_role -> Text,
        meaning_code -> Text,
        meaning_text -> Text,
        auth_method -> Text,
        signed_at -> Timestamp,
        content_sha256 -> Text,
        key_id -> Text,
        signature_hash -> Text,
    }
}

diesel::table! {
    report_verifications (id) {
        id -> Text,
        checked_at -> Timestamp,
        remote_addr -> Nullable<Text>,
        report_number -> Text,
        hash_given -> Nullable<Text>,
        outcome -> Text,
        via -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        occurred_at -> Timestamp,
        user_id -> Nullable<Text>,
        username -> Nullable<Text>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Text>,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        remote_addr -> Nullable<Text>,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(seizures -> users (registered_by));
diesel::joinable!(samples -> seizures (seizure_id));
diesel::joinable!(samples -> storage_locations (storage_location_id));
diesel::joinable!(samples -> users (registered_by));
diesel::joinable!(custody_events -> samples (sample_id));
diesel::joinable!(custody_events -> users (recorded_by));
diesel::joinable!(custody_events -> storage_locations (storage_location_id));
diesel::joinable!(custody_seals -> samples (sample_id));
diesel::joinable!(custody_verifications -> users (started_by));
diesel::joinable!(methods -> users (created_by));
diesel::joinable!(method_versions -> methods (method_id));
diesel::joinable!(instruments -> users (created_by));
diesel::joinable!(calibration_records -> instruments (instrument_id));
diesel::joinable!(calibration_records -> users (recorded_by));
diesel::joinable!(maintenance_records -> instruments (instrument_id));
diesel::joinable!(maintenance_records -> users (recorded_by));
diesel::joinable!(training_records -> users (user_id));
diesel::joinable!(method_authorizations -> users (user_id));
diesel::joinable!(method_authorizations -> methods (method_id));
diesel::joinable!(analyses -> samples (sample_id));
diesel::joinable!(analyses -> methods (method_id));
diesel::joinable!(analyses -> method_versions (method_version_id));
diesel::joinable!(analyses -> users (analyst_id));
diesel::joinable!(analyses -> method_authorizations (authorization_id));
diesel::joinable!(analysis_results -> analyses (analysis_id));
diesel::joinable!(analysis_results -> users (entered_by));
diesel::joinable!(analysis_observations -> analyses (analysis_id));
diesel::joinable!(analysis_observations -> instruments (instrument_id));
diesel::joinable!(analysis_instruments -> analyses (analysis_id));
diesel::joinable!(analysis_instruments -> instruments (instrument_id));
diesel::joinable!(analysis_instruments -> calibration_records (calibration_record_id));
diesel::joinable!(analysis_instruments -> analysis_results (result_id));
diesel::joinable!(attachments -> samples (sample_id));
diesel::joinable!(attachments -> analyses (analysis_id));
diesel::joinable!(attachments -> calibration_records (calibration_record_id));
diesel::joinable!(attachments -> training_records (training_record_id));
diesel::joinable!(attachments -> report_versions (report_version_id));
diesel::joinable!(attachments -> users (uploaded_by));
diesel::joinable!(attachment_withdrawals -> attachments (attachment_id));
diesel::joinable!(reports -> seizures (seizure_id));
diesel::joinable!(reports -> samples (sample_id));
diesel::joinable!(reports -> users (created_by));
diesel::joinable!(report_versions -> reports (report_id));
diesel::joinable!(report_versions -> lab_settings (lab_settings_id));
diesel::joinable!(report_items -> report_versions (report_version_id));
diesel::joinable!(report_items -> analyses (analysis_id));
diesel::joinable!(report_items -> samples (sample_id));
diesel::joinable!(report_anchors -> report_versions (report_version_id));
diesel::joinable!(report_anchors -> samples (sample_id));
diesel::joinable!(report_signatures -> report_versions (report_version_id));
diesel::joinable!(report_signatures -> users (signer_id));
diesel::joinable!(audit_log -> users (user_id));

diesel::table! {
    customs_offices (name) {
        name -> Text,
        created_at -> Timestamp,
        reference_pattern -> Nullable<Text>,
        reference_example -> Nullable<Text>,
        declaration_pattern -> Nullable<Text>,
        declaration_example -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        idle_expires_at -> Timestamp,
        user_agent -> Nullable<Text>,
        remote_addr -> Nullable<Text>,
        ended_at -> Nullable<Timestamp>,
        ended_reason -> Nullable<Text>,
        ended_by -> Nullable<Text>,
    }
}

diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    customs_offices,
    sessions,
    users,
    login_attempts,
    api_tokens,
    counters,
    tariff_lines,
    storage_locations,
    seizures,
    samples,
    custody_events,
    custody_seals,
    custody_verifications,
    methods,
    method_versions,
    instruments,
    calibration_records,
    maintenance_records,
    training_records,
    method_authorizations,
    analyses,
    analysis_results,
    analysis_observations,
    analysis_instruments,
    attachments,
    attachment_withdrawals,
    lab_settings,
    reports,
    report_versions,
    report_items,
    report_anchors,
    report_signatures,
    report_verifications,
    audit_log,
);
