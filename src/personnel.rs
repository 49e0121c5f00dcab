//! Personnel records (ISO/IEC 17025 6.2): training with its competence assessment, and the
//! method authorizations a supervisor grants and revokes. Training records are append-only (a
//! correction or a later assessment is a new record that supersedes, with a reason); an
//! authorization can only be revoked, once, and at most one per analyst and method is in
//! force (a partial unique index).

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::correction;
use crate::db::schema::{method_authorizations, training_records};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{AuthorizationId, MethodId, TrainingRecordId, UserId};
use crate::method::{self, Method, MethodVersion};
use crate::user::{self, Role, User};
use crate::validation::{optional_date, optional_text, required_date, required_text, FieldErrors};

text_enum!(
    AssessmentResult {
        Competent => "competent",
        NotCompetent => "not_competent",
    }
);

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = training_records, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct TrainingRecord {
    pub id: TrainingRecordId,
    pub user_id: UserId,
    pub course: String,
    pub trainer: Option<String>,
    pub completed_on: String,
    pub valid_until: Option<String>,
    pub assessed_by: Option<UserId>,
    pub assessed_on: Option<String>,
    pub assessment_result: Option<AssessmentResult>,
    pub assessment_notes: Option<String>,
    pub notes: Option<String>,
    pub supersedes_id: Option<TrainingRecordId>,
    pub correction_reason: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
}

impl TrainingRecord {
    /// Past its validity date on `today`.
    pub fn expired(&self, today: NaiveDate) -> bool {
        self.valid_until
            .as_deref()
            .is_some_and(|d| d < iso(today).as_str())
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = method_authorizations, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Authorization {
    pub id: AuthorizationId,
    pub user_id: UserId,
    pub method_id: MethodId,
    pub basis: String,
    pub training_record_id: Option<TrainingRecordId>,
    pub granted_by: UserId,
    pub granted_on: String,
    pub expires_on: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<UserId>,
    pub revocation_reason: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Where an authorization stands on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthState {
    Active,
    Expired,
    Revoked,
}

impl AuthState {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthState::Active => "active",
            AuthState::Expired => "expired",
            AuthState::Revoked => "revoked",
        }
    }
}

impl Authorization {
    pub fn state(&self, today: NaiveDate) -> AuthState {
        if self.revoked_at.is_some() {
            AuthState::Revoked
        } else if self
            .expires_on
            .as_deref()
            .is_some_and(|d| d < iso(today).as_str())
        {
            AuthState::Expired
        } else {
            AuthState::Active
        }
    }
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

#[derive(Insertable)]
#[diesel(table_name = training_records)]
struct NewTraining<'a> {
    id: &'a TrainingRecordId,
    user_id: &'a UserId,
    course: &'a str,
    trainer: Option<&'a str>,
    completed_on: String,
    valid_until: Option<String>,
    assessed_by: Option<&'a UserId>,
    assessed_on: Option<String>,
    assessment_result: Option<AssessmentResult>,
    assessment_notes: Option<&'a str>,
    notes: Option<&'a str>,
    supersedes_id: Option<&'a TrainingRecordId>,
    correction_reason: Option<&'a str>,
    recorded_by: &'a UserId,
    recorded_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = method_authorizations)]
struct NewAuthorization<'a> {
    id: &'a AuthorizationId,
    user_id: &'a UserId,
    method_id: &'a MethodId,
    basis: &'a str,
    training_record_id: Option<&'a TrainingRecordId>,
    granted_by: &'a UserId,
    granted_on: String,
    expires_on: Option<String>,
    created_at: NaiveDateTime,
}

/// Whether a user is laboratory staff who can hold training records and authorizations.
pub fn is_analyst(user: &User) -> bool {
    matches!(user.role, Role::Technician | Role::Supervisor)
}

/// Active laboratory staff, by name: the people of the personnel pages.
pub fn staff(conn: &mut DbConn) -> QueryResult<Vec<User>> {
    let mut people: Vec<User> = user::list(conn)?
        .into_iter()
        .filter(|u| u.active && is_analyst(u))
        .collect();
    people.sort_by_key(|u| u.full_name.to_lowercase());
    Ok(people)
}

/// The staff member `id` (404 for anyone else).
pub fn find_person(conn: &mut DbConn, id: &UserId) -> Result<User, AppError> {
    let person = user::find(conn, id)?;
    if !is_analyst(&person) {
        return Err(AppError::NotFound);
    }
    Ok(person)
}

/// A person's training records, newest first (corrected ones included).
pub fn trainings(conn: &mut DbConn, user_id: &UserId) -> QueryResult<Vec<TrainingRecord>> {
    training_records::table
        .filter(training_records::user_id.eq(user_id))
        .order((
            training_records::completed_on.desc(),
            training_records::recorded_at.desc(),
        ))
        .select(TrainingRecord::as_select())
        .load(conn)
}

/// A person's authorizations with their method's code and current name, newest first.
pub fn authorizations(
    conn: &mut DbConn,
    user_id: &UserId,
) -> Result<Vec<(Authorization, Method, MethodVersion)>, AppError> {
    let rows: Vec<Authorization> = method_authorizations::table
        .filter(method_authorizations::user_id.eq(user_id))
        .order((
            method_authorizations::granted_on.desc(),
            method_authorizations::created_at.desc(),
        ))
        .select(Authorization::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        let (m, v) = method::find_current(conn, &a.method_id)?;
        out.push((a, m, v));
    }
    Ok(out)
}

/// The authorization in force for `user_id` on `method_id` on `on`, if any: what an
/// assignment of that method to that analyst must cite.
pub fn active_authorization(
    conn: &mut DbConn,
    user_id: &UserId,
    method_id: &MethodId,
    on: NaiveDate,
) -> QueryResult<Option<Authorization>> {
    let day = iso(on);
    method_authorizations::table
        .filter(method_authorizations::user_id.eq(user_id))
        .filter(method_authorizations::method_id.eq(method_id))
        .filter(method_authorizations::revoked_at.is_null())
        .filter(method_authorizations::granted_on.le(day.clone()))
        .filter(
            method_authorizations::expires_on
                .is_null()
                .or(method_authorizations::expires_on.ge(day)),
        )
        .select(Authorization::as_select())
        .first(conn)
        .optional()
}

/// A training record as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct TrainingInput {
    pub course: String,
    pub trainer: String,
    pub completed_on: String,
    pub valid_until: String,
    /// The assessor's user id; empty when not assessed yet.
    pub assessed_by: String,
    pub assessed_on: String,
    pub assessment_result: String,
    pub assessment_notes: String,
    pub notes: String,
    /// Asked only when the record replaces an earlier one.
    pub correction_reason: String,
}

impl TrainingInput {
    pub fn from_record(r: &TrainingRecord) -> TrainingInput {
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        TrainingInput {
            course: r.course.clone(),
            trainer: text(&r.trainer),
            completed_on: r.completed_on.clone(),
            valid_until: text(&r.valid_until),
            assessed_by: r
                .assessed_by
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_default(),
            assessed_on: text(&r.assessed_on),
            assessment_result: r
                .assessment_result
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
            assessment_notes: text(&r.assessment_notes),
            notes: text(&r.notes),
            correction_reason: String::new(),
        }
    }
}

/// A day that has happened: not after today.
fn past_date(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    required: bool,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let date = if required {
        required_date(errors, field, value)
    } else {
        optional_date(errors, field, value)
    }?;
    if date > today {
        errors.add(field, "validation.not_in_future");
        return None;
    }
    Some(date)
}

/// Records a person's training (with its competence assessment, if already done), or a new
/// record replacing `replaces` — a correction, or the assessment done later.
pub fn record_training(
    conn: &mut DbConn,
    who: &Handler,
    user_id: &UserId,
    replaces: Option<&TrainingRecordId>,
    input: &TrainingInput,
    today: NaiveDate,
) -> Result<TrainingRecord, AppError> {
    let mut errors = FieldErrors::default();
    let course = required_text(&mut errors, "course", &input.course, 200);
    let trainer = optional_text(&mut errors, "trainer", &input.trainer, 200);
    let completed = past_date(
        &mut errors,
        "completed_on",
        &input.completed_on,
        true,
        today,
    );
    let valid_until = optional_date(&mut errors, "valid_until", &input.valid_until);
    if let (Some(done), Some(until)) = (completed, valid_until) {
        if until <= done {
            errors.add("valid_until", "personnel.valid_after_completion");
        }
    }
    // The assessment: by whom, when, with what result — all three or none.
    let assessor = match input.assessed_by.trim() {
        "" => None,
        raw => {
            let parsed = UserId::parse(raw);
            if parsed.is_none() {
                errors.add("assessed_by", "validation.choose_one");
            }
            parsed
        }
    };
    let assessed_on = past_date(&mut errors, "assessed_on", &input.assessed_on, false, today);
    let result = match input.assessment_result.trim() {
        "" => None,
        raw => {
            let parsed = AssessmentResult::parse(raw);
            if parsed.is_none() {
                errors.add("assessment_result", "validation.choose_one");
            }
            parsed
        }
    };
    let any = [
        &input.assessed_by,
        &input.assessed_on,
        &input.assessment_result,
    ]
    .iter()
    .any(|v| !v.trim().is_empty());
    if any {
        for (field, value) in [
            ("assessed_by", &input.assessed_by),
            ("assessed_on", &input.assessed_on),
            ("assessment_result", &input.assessment_result),
        ] {
            if value.trim().is_empty() {
                errors.add(field, "personnel.assessment_incomplete");
            }
        }
    }
    if let (Some(done), Some(on)) = (completed, assessed_on) {
        if on < done {
            errors.add("assessed_on", "personnel.assessed_before_training");
        }
    }
    if assessor.as_ref() == Some(user_id) {
        errors.add("assessed_by", "personnel.assessor_is_trainee");
    }
    let assessment_notes = optional_text(
        &mut errors,
        "assessment_notes",
        &input.assessment_notes,
        1000,
    );
    let notes = optional_text(&mut errors, "notes", &input.notes, 1000);
    let reason = replaces.map(|_| {
        required_text(
            &mut errors,
            "correction_reason",
            &input.correction_reason,
            500,
        )
    });
    errors.into_result()?;
    let Some(completed) = completed else {
        return Err(AppError::invalid("completed_on", "validation.required"));
    };
    write_tx(conn, |conn| {
        let person = find_person(conn, user_id)?;
        if let Some(assessor) = &assessor {
            let found = user::find(conn, assessor).optional()?;
            if !found.is_some_and(|u| u.active && is_analyst(&u)) {
                return Err(AppError::invalid(
                    "assessed_by",
                    "personnel.assessor_unknown",
                ));
            }
        }
        if let Some(old) = replaces {
            let records = trainings(conn, user_id)?;
            correction::check_correctable(records.iter().map(|r| (&r.id, &r.supersedes_id)), old)?;
        }
        let id = TrainingRecordId::new_v7();
        diesel::insert_into(training_records::table)
            .values(NewTraining {
                id: &id,
                user_id,
                course: &course,
                trainer: trainer.as_deref(),
                completed_on: iso(completed),
                valid_until: valid_until.map(iso),
                assessed_by: assessor.as_ref(),
                assessed_on: assessed_on.map(iso),
                assessment_result: result,
                assessment_notes: assessment_notes.as_deref(),
                notes: notes.as_deref(),
                supersedes_id: replaces,
                correction_reason: reason.as_deref(),
                recorded_by: &who.user_id,
                recorded_at: now(),
            })
            .execute(conn)
            .map_err(correction::insert_error)?;
        let record = training_records::table
            .find(&id)
            .select(TrainingRecord::as_select())
            .first(conn)?;
        correction::audit_new(
            conn,
            &who.actor,
            replaces.is_some(),
            "training_record",
            id.as_str(),
            &serde_json::json!({ "record": &record, "person": person.username }),
        )?;
        Ok(record)
    })
}

/// An authorization as the supervisor types it.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct GrantInput {
    pub method_id: String,
    pub basis: String,
    /// The training record it rests on, if any (one of the person's).
    pub training_record_id: String,
    pub granted_on: String,
    pub expires_on: String,
}

/// Authorizes `user_id` to perform a method. Refused while another authorization of the same
/// person for the same method is on record unrevoked (revoke that one first).
pub fn grant(
    conn: &mut DbConn,
    who: &Handler,
    user_id: &UserId,
    input: &GrantInput,
    today: NaiveDate,
) -> Result<Authorization, AppError> {
    let mut errors = FieldErrors::default();
    let method_id = MethodId::parse(&input.method_id);
    if method_id.is_none() {
        errors.add("method_id", "validation.choose_one");
    }
    let basis = required_text(&mut errors, "basis", &input.basis, 1000);
    let training = match input.training_record_id.trim() {
        "" => None,
        raw => {
            let parsed = TrainingRecordId::parse(raw);
            if parsed.is_none() {
                errors.add("training_record_id", "validation.choose_one");
            }
            parsed
        }
    };
    let granted_on = past_date(&mut errors, "granted_on", &input.granted_on, true, today);
    let expires_on = optional_date(&mut errors, "expires_on", &input.expires_on);
    if let (Some(from), Some(until)) = (granted_on, expires_on) {
        if until <= from {
            errors.add("expires_on", "personnel.expiry_after_grant");
        }
    }
    if &who.user_id == user_id {
        errors.add("method_id", "personnel.no_self_authorization");
    }
    errors.into_result()?;
    let (Some(method_id), Some(granted_on)) = (method_id, granted_on) else {
        return Err(AppError::invalid("method_id", "validation.choose_one"));
    };
    let taken = || AppError::invalid("method_id", "personnel.already_authorized");
    write_tx(conn, |conn| {
        let person = find_person(conn, user_id)?;
        if !person.active {
            return Err(AppError::invalid("method_id", "personnel.person_inactive"));
        }
        let method = method::find(conn, &method_id)
            .optional()?
            .ok_or_else(|| AppError::invalid("method_id", "validation.choose_one"))?;
        if method.is_retired() {
            return Err(AppError::invalid("method_id", "personnel.method_retired"));
        }
        if let Some(t) = &training {
            let records = trainings(conn, user_id)?;
            let corrected: HashSet<&TrainingRecordId> = records
                .iter()
                .filter_map(|r| r.supersedes_id.as_ref())
                .collect();
            if !records
                .iter()
                .any(|r| &r.id == t && !corrected.contains(&r.id))
            {
                return Err(AppError::invalid(
                    "training_record_id",
                    "validation.choose_one",
                ));
            }
        }
        let open: i64 = method_authorizations::table
            .filter(method_authorizations::user_id.eq(user_id))
            .filter(method_authorizations::method_id.eq(&method_id))
            .filter(method_authorizations::revoked_at.is_null())
            .count()
            .get_result(conn)?;
        if open > 0 {
            return Err(taken());
        }
        let id = AuthorizationId::new_v7();
        diesel::insert_into(method_authorizations::table)
            .values(NewAuthorization {
                id: &id,
                user_id,
                method_id: &method_id,
                basis: &basis,
                training_record_id: training.as_ref(),
                granted_by: &who.user_id,
                granted_on: iso(granted_on),
                expires_on: expires_on.map(iso),
                created_at: now(),
            })
            .execute(conn)
            .map_err(|e| {
                AppError::from(e).unique_as("method_id", "personnel.already_authorized")
            })?;
        let granted = find_authorization(conn, &id)?;
        audit::record(
            conn,
            &who.actor,
            "grant",
            "method_authorization",
            Some(id.as_str()),
            None::<&()>,
            Some(&serde_json::json!({
                "authorization": &granted,
                "person": person.username,
                "method": method.code,
            })),
        )?;
        Ok(granted)
    })
}

pub fn find_authorization(conn: &mut DbConn, id: &AuthorizationId) -> QueryResult<Authorization> {
    method_authorizations::table
        .find(id)
        .select(Authorization::as_select())
        .first(conn)
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RevokeInput {
    pub revocation_reason: String,
}

/// Revokes `user_id`'s authorization `id`, with the reason; it stays on record.
pub fn revoke(
    conn: &mut DbConn,
    who: &Handler,
    user_id: &UserId,
    id: &AuthorizationId,
    input: &RevokeInput,
) -> Result<Authorization, AppError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(
        &mut errors,
        "revocation_reason",
        &input.revocation_reason,
        500,
    );
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = find_authorization(conn, id)?;
        if &before.user_id != user_id {
            return Err(AppError::NotFound);
        }
        if before.revoked_at.is_some() {
            return Err(AppError::invalid(
                "revocation_reason",
                "personnel.already_revoked",
            ));
        }
        diesel::update(method_authorizations::table.find(id))
            .set((
                method_authorizations::revoked_at.eq(now()),
                method_authorizations::revoked_by.eq(&who.user_id),
                method_authorizations::revocation_reason.eq(&reason),
            ))
            .execute(conn)?;
        let after = find_authorization(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            "revoke",
            "method_authorization",
            Some(id.as_str()),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Who may perform what: the staff × the methods in use, each cell the state of the
/// person's latest authorization for the method (none when there is none).
pub struct Matrix {
    pub people: Vec<User>,
    pub methods: Vec<(Method, MethodVersion)>,
    cells: HashMap<(UserId, MethodId), (AuthState, Option<String>)>,
}

impl Matrix {
    /// The state (`active`, `expired`, `revoked`, or empty) and expiry of a cell.
    pub fn cell(&self, person: &UserId, method: &MethodId) -> (&'static str, Option<&str>) {
        self.cells
            .get(&(person.clone(), method.clone()))
            .map_or(("", None), |(s, until)| (s.as_str(), until.as_deref()))
    }
}

pub fn matrix(conn: &mut DbConn, today: NaiveDate) -> QueryResult<Matrix> {
    let people = staff(conn)?;
    let methods = method::in_use(conn)?;
    let ids: Vec<&UserId> = people.iter().map(|p| &p.id).collect();
    let rows: Vec<Authorization> = method_authorizations::table
        .filter(method_authorizations::user_id.eq_any(ids))
        .order(method_authorizations::created_at.asc())
        .select(Authorization::as_select())
        .load(conn)?;
    // Later rows overwrite earlier ones; an unrevoked authorization outranks revoked history.
    let mut cells: HashMap<(UserId, MethodId), (AuthState, Option<String>)> = HashMap::new();
    for a in rows {
        let state = a.state(today);
        let key = (a.user_id.clone(), a.method_id.clone());
        let keep_old = cells
            .get(&key)
            .is_some_and(|(old, _)| *old != AuthState::Revoked && state == AuthState::Revoked);
        if !keep_old {
            cells.insert(key, (state, a.expires_on.clone()));
        }
    }
    Ok(Matrix {
        people,
        methods,
        cells,
    })
}
