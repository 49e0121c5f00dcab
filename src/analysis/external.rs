//! Results of a partner laboratory (SPEC "Personnel"; ISO/IEC 17025 6.6): for a sample sent out
//! (custody event `sent_external`) and back (`returned_from_external`), a supervisor enters the
//! laboratory's result with its name, accreditation and report reference. The result is an
//! external analysis linked to both custody events, written like an analyst's result (same
//! checks against the method version, same conformity) and handed in at once; the supervisor
//! who enters it is its submitter, so another supervisor reviews it (four-eyes still holds).

use chrono::NaiveDate;
use serde::Deserialize;

use crate::audit::Handler;
use crate::custody::{self, CustodyEvent, EventKind};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{AnalysisId, MethodId, SampleId};
use crate::method;
use crate::sample;
use crate::validation::{optional_text, required_text, FieldErrors};

use super::result::{self, ResultInput};
use super::{create, Analysis, AnalysisStatus, NewAnalysis};

/// The external result form: the method, the laboratory and its report; the result itself is
/// the result form's part of one test (`a0_…`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ExternalInput {
    pub method_id: String,
    pub external_lab: String,
    pub external_accreditation: String,
    pub external_report_ref: String,
    #[serde(skip)]
    pub result: ResultInput,
}

/// The referral a result can come from: the sample's latest `sent_external` event and the
/// return that followed it, if it is back yet.
#[derive(Debug, Clone)]
pub struct Referral {
    pub sent: CustodyEvent,
    pub returned: Option<CustodyEvent>,
}

/// The sample's latest referral to a partner laboratory, if it was ever sent out.
pub fn referral(conn: &mut DbConn, id: &SampleId) -> diesel::QueryResult<Option<Referral>> {
    let events = custody::for_sample(conn, id)?;
    let Some(at) = events
        .iter()
        .rposition(|e| e.kind() == Some(EventKind::SentExternal))
    else {
        return Ok(None);
    };
    let returned = events[at..]
        .iter()
        .find(|e| e.kind() == Some(EventKind::ReturnedFromExternal))
        .cloned();
    Ok(Some(Referral {
        sent: events[at].clone(),
        returned,
    }))
}

/// Enters a partner laboratory's result on a sample and hands it in for review. Refused beside
/// the fields: a sample never sent out or not back yet (`referral`), a missing laboratory or
/// report reference, a result the method version does not accept.
pub fn enter(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    input: &ExternalInput,
    today: NaiveDate,
) -> Result<Analysis, AppError> {
    let mut errors = FieldErrors::default();
    let lab = required_text(&mut errors, "external_lab", &input.external_lab, 200);
    let accreditation = optional_text(
        &mut errors,
        "external_accreditation",
        &input.external_accreditation,
        200,
    );
    let report_ref = required_text(
        &mut errors,
        "external_report_ref",
        &input.external_report_ref,
        100,
    );
    write_tx(conn, |conn| {
        let sample = sample::state::lock_for_update(conn, sample_id)?;
        let referral = referral(conn, &sample.id)?;
        let returned = match &referral {
            None => {
                errors.add("referral", "external.not_sent");
                None
            }
            Some(Referral { returned: None, .. }) => {
                errors.add("referral", "external.not_returned");
                None
            }
            Some(Referral {
                sent,
                returned: Some(back),
            }) => Some((sent.id.clone(), back.id.clone())),
        };
        let chosen = match MethodId::parse(&input.method_id) {
            Some(id) => Some(method::find_current(conn, &id)?),
            None => {
                errors.add("method_id", "validation.choose_one");
                None
            }
        };
        let content = match &chosen {
            Some((m, _)) if m.is_retired() => {
                errors.add("method_id", "methods.retired_no_edit");
                None
            }
            Some((_, v)) => result::check_content(&mut errors, 0, v, &input.result),
            None => None,
        };
        errors.into_result()?;
        // Each `None` above came with a field error, so with none all three are here.
        let (Some((sent, back)), Some((m, version)), Some(content)) = (returned, chosen, content)
        else {
            return Err(AppError::NotFound);
        };
        let id = AnalysisId::new_v7();
        let t = now();
        let analysis = create(
            conn,
            who,
            NewAnalysis {
                id: &id,
                sample_id: &sample.id,
                method_id: &m.id,
                method_version_id: &version.id,
                analyst_id: None,
                authorization_id: None,
                assigned_by: &who.user_id,
                assigned_at: t,
                due_on: None,
                status: AnalysisStatus::Assigned,
                retest_of_id: None,
                is_external: true,
                external_lab: Some(&lab),
                external_accreditation: accreditation.as_deref(),
                external_report_ref: Some(&report_ref),
                referral_event_id: Some(&sent),
                return_event_id: Some(&back),
                created_at: t,
                updated_at: t,
            },
        )?;
        result::record_external(conn, who, analysis, version, content, today)?;
        Ok(super::find(conn, &id)?)
    })
}
