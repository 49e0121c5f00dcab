//! Tampering with custody behind the application's back, as a database administrator could:
//! the append-only triggers are dropped (SQLite) or switched off (PostgreSQL), rows changed
//! with plain SQL, and the guards put back. Every kind is caught, naming the sample and its
//! first bad event; old unkeyed chains still verify once sealed; checkpoints catch what the
//! database alone cannot show.

use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use lims::custody::checkpoint::{self, CheckpointError};
use lims::custody::key::{self, Keyring};
use lims::custody::verify::{self, ChainBreak, Problem, Report};
use lims::custody::{self, chain, CustodyEvent, EventKind};
use lims::db::DbConn;
use lims::sample::movement::EventInput;
use lims::sample::Sample;

use crate::common::CUSTODY_KEY;
use crate::custody::{event, lab, Lab, PW};

/// Every chain verified under the installed key ring.
pub fn verify(conn: &mut DbConn) -> Report {
    verify::verify_all(conn, key::installed().unwrap(), |_, _| Ok(())).unwrap()
}

/// Runs `sql` with every evidence guard out of the way, then puts the guards back.
pub(crate) fn behind_the_back(conn: &mut DbConn, sql: &str) {
    match conn {
        DbConn::Postgres(_) => conn
            .batch_execute(&format!(
                "SET session_replication_role = replica; {sql}; \
                 SET session_replication_role = DEFAULT;"
            ))
            .unwrap(),
        DbConn::Sqlite(_) => {
            #[derive(QueryableByName)]
            struct Trigger {
                #[diesel(sql_type = Text)]
                name: String,
                #[diesel(sql_type = Text)]
                sql: String,
            }
            let triggers: Vec<Trigger> =
                diesel::sql_query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                    .load(conn)
                    .unwrap();
            for t in &triggers {
                conn.batch_execute(&format!("DROP TRIGGER {}", t.name))
                    .unwrap();
            }
            conn.batch_execute(sql).unwrap();
            for t in &triggers {
                conn.batch_execute(&t.sql).unwrap();
            }
        }
    }
}

fn events(conn: &mut DbConn, s: &Sample) -> Vec<CustodyEvent> {
    custody::for_sample(conn, &s.id).unwrap()
}

/// A lab with two received samples whose chains are 4 events long (collected, sealed,
/// received, opened).
fn two_samples(lab: &Lab, reference: &str) -> Vec<Sample> {
    let s = lab.register(reference, &["PR-1", "PR-2"]);
    s.iter()
        .map(|s| {
            let s = lab.receive(s);
            lab.record(
                &s,
                EventInput {
                    reason: "Toma de alícuota".into(),
                    seal_intact: "yes".into(),
                    ..event(EventKind::Opened)
                },
            )
            .unwrap();
            lims::sample::find(&mut lab.app.db.conn(), &s.id).unwrap()
        })
        .collect()
}

/// The one break verification finds; fails if it finds none or several.
#[track_caller]
fn only_break(conn: &mut DbConn) -> ChainBreak {
    let report = verify(conn);
    assert_eq!(report.breaks.len(), 1, "{:?}", report.breaks);
    report.breaks[0].clone()
}

#[track_caller]
fn assert_break(b: &ChainBreak, s: &Sample, seq: i64, event: Option<&CustodyEvent>, p: Problem) {
    assert_eq!(
        (&b.sample_id, &b.lab_code, b.seq, b.problem),
        (&s.id, &s.lab_code, seq, p),
        "{b:?}"
    );
    if let Some(e) = event {
        assert_eq!(b.event_id.as_ref(), Some(&e.id), "{b:?}");
    }
}

fn sql_text(v: &Option<String>) -> String {
    v.as_ref()
        .map_or("NULL".into(), |t| format!("'{}'", t.replace('\'', "''")))
}

/// Rewrites an event's chain fields in place.
fn set_chain_sql(e: &CustodyEvent) -> String {
    format!(
        "UPDATE custody_events SET kind = '{}', reason = {}, prev_hash = '{}', hash = '{}', \
         key_id = {} WHERE id = '{}'",
        e.kind,
        sql_text(&e.reason),
        e.prev_hash,
        e.hash,
        sql_text(&e.key_id),
        e.id
    )
}

/// An event inserted with plain SQL.
fn insert_sql(e: &CustodyEvent) -> String {
    format!(
        "INSERT INTO custody_events (id, sample_id, seq, kind, occurred_at, recorded_at, \
         recorded_by, reason, witness, prev_hash, hash, key_id) VALUES ('{}', '{}', {}, '{}', \
         '{}', '{}', '{}', {}, {}, '{}', '{}', {})",
        e.id,
        e.sample_id,
        e.seq,
        e.kind,
        e.occurred_at.format("%Y-%m-%d %H:%M:%S%.6f"),
        e.recorded_at.format("%Y-%m-%d %H:%M:%S%.6f"),
        e.recorded_by,
        sql_text(&e.reason),
        sql_text(&e.witness),
        e.prev_hash,
        e.hash,
        sql_text(&e.key_id)
    )
}

/// The event after `last`, as a forger would write it (hash still to be set).
fn forged_after(last: &CustodyEvent, kind: EventKind) -> CustodyEvent {
    CustodyEvent {
        id: lims::ids::CustodyEventId::new_v7(),
        seq: last.seq + 1,
        kind: kind.as_str().into(),
        occurred_at: lims::db::now(),
        recorded_at: lims::db::now(),
        reason: Some("Destrucción autorizada".into()),
        witness: Some("Testigo".into()),
        prev_hash: last.hash.clone(),
        hash: String::new(),
        storage_location_id: None,
        seal_number: None,
        seal_intact: None,
        quantity: None,
        quantity_unit: None,
        quantity_sufficient: None,
        sample_condition: None,
        from_party: None,
        from_user_id: None,
        to_party: None,
        to_user_id: None,
        place: None,
        new_seal_number: None,
        external_lab: None,
        related_sample_id: None,
        retained_until: None,
        ..last.clone()
    }
}

/// The unkeyed (version-1) hash anyone can compute from the documentation.
fn v1(e: &mut CustodyEvent) {
    e.key_id = None;
    e.hash = chain::unkeyed_hash(&e.prev_hash, &chain::canonical(e));
}

pub(crate) fn lims_cli(lab: &Lab, args: &[&str]) -> (bool, String) {
    lims_cli_on(&lab.app.db.url, &lab.app.db.data_dir(), args)
}

fn lims_cli_on(url: &str, data_dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lims"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("LIMS_DATA_DIR", data_dir)
        .env_remove("LIMS_CUSTODY_KEY")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[actix_web::test]
async fn an_altered_field_is_caught_by_the_command_line_the_page_and_the_sample() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-1");
    let mut conn = lab.app.db.conn();
    assert!(verify(&mut conn).breaks.is_empty());
    let target = events(&mut conn, &s[0])[2].clone();
    assert_eq!(target.kind, "received_at_lab");
    behind_the_back(
        &mut conn,
        &format!(
            "UPDATE custody_events SET seal_intact = FALSE WHERE id = '{}'",
            target.id
        ),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 3, Some(&target), Problem::HashMismatch);

    let (ok, out) = lims_cli(&lab, &["verify-custody"]);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "BROKEN {}: first bad event #3 ({})",
            s[0].lab_code, target.id
        )),
        "{out}"
    );
    assert!(out.contains("hash_mismatch"), "{out}");

    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get(&format!("/samples/{}", s[0].id))
        .await
        .assert_contains("Cadena alterada");
    assert!(!c
        .get(&format!("/samples/{}", s[1].id))
        .await
        .contains("Cadena alterada"));
    let page = run_on_page(&mut c).await;
    page.assert_contains(&s[0].lab_code);
    page.assert_contains("1 cadena(s) alterada(s)");
    page.assert_contains("no coincide con su hash con clave");
}

/// Starts a verification on the supervisors' page and waits for its result.
pub async fn run_on_page<S, B>(c: &mut crate::common::Client<S>) -> crate::common::Page
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    c.get("/custody/verify").await;
    c.post("/custody/verify", &[])
        .await
        .assert_redirect("/custody/verify");
    for _ in 0..200 {
        let page = c.get("/custody/verify").await;
        if !page.contains("http-equiv=\"refresh\"") {
            return page;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the verification did not finish");
}

#[actix_web::test]
async fn a_deleted_middle_event_is_named() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-2");
    let mut conn = lab.app.db.conn();
    let gone = events(&mut conn, &s[1])[1].clone();
    behind_the_back(
        &mut conn,
        &format!("DELETE FROM custody_events WHERE id = '{}'", gone.id),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[1], 2, Some(&gone), Problem::SequenceGap);
}

#[actix_web::test]
async fn a_forged_event_with_a_made_up_hash_is_caught() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-3");
    let mut conn = lab.app.db.conn();
    let last = events(&mut conn, &s[0]).pop().unwrap();
    let mut forged = forged_after(&last, EventKind::HandedOver);
    forged.hash = "ab".repeat(32);
    behind_the_back(&mut conn, &insert_sql(&forged));
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 5, Some(&forged), Problem::HashMismatch);
}

#[actix_web::test]
async fn a_deleted_chain_is_caught() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-4");
    let mut conn = lab.app.db.conn();
    let first = events(&mut conn, &s[1])[0].clone();
    behind_the_back(
        &mut conn,
        &format!("DELETE FROM custody_events WHERE sample_id = '{}'", s[1].id),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[1], 1, Some(&first), Problem::EmptyChain);
}

#[actix_web::test]
async fn a_truncated_chain_is_caught_by_the_head_then_by_the_audit_trail() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-5");
    let mut conn = lab.app.db.conn();
    let chain = events(&mut conn, &s[0]);
    let last = chain[3].clone();
    behind_the_back(
        &mut conn,
        &format!("DELETE FROM custody_events WHERE id = '{}'", last.id),
    );
    // The head on the sample still names event 4.
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 4, Some(&last), Problem::Truncated);

    // The head put back to event 3 as well: the audit entry of event 4 still names it.
    behind_the_back(
        &mut conn,
        &format!(
            "UPDATE samples SET custody_head_seq = 3, custody_head_hash = '{}' WHERE id = '{}'",
            chain[2].hash, s[0].id
        ),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 4, Some(&last), Problem::Truncated);

    // The next event recorded continues after the recorded head, so the gap never closes.
    behind_the_back(
        &mut conn,
        &format!(
            "UPDATE samples SET custody_head_seq = 4, custody_head_hash = '{}' WHERE id = '{}'",
            last.hash, s[0].id
        ),
    );
    let next = lab
        .record(
            &lims::sample::find(&mut conn, &s[0].id).unwrap(),
            EventInput {
                reason: "Cierre".into(),
                new_seal_number: "LAB-PR-9".into(),
                ..event(EventKind::Resealed)
            },
        )
        .unwrap();
    assert_eq!((next.seq, &next.prev_hash), (5, &last.hash));
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 4, Some(&last), Problem::SequenceGap);
}

#[actix_web::test]
async fn a_forged_destroyed_event_with_the_public_unkeyed_hash_is_caught() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-6");
    let mut conn = lab.app.db.conn();
    let last = events(&mut conn, &s[0]).pop().unwrap();
    let mut forged = forged_after(&last, EventKind::Destroyed);
    v1(&mut forged);
    // The forger does everything the application would: event, head, status.
    behind_the_back(
        &mut conn,
        &format!(
            "{}; UPDATE samples SET status = 'disposed', custody_head_seq = 5, \
             custody_head_hash = '{}' WHERE id = '{}'",
            insert_sql(&forged),
            forged.hash,
            s[0].id
        ),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 5, Some(&forged), Problem::UnkeyedEvent);

    // Naming the real key but hashing without it fails the keyed hash instead.
    let last1 = events(&mut conn, &s[1]).pop().unwrap();
    let mut keyed = forged_after(&last1, EventKind::Destroyed);
    keyed.hash = chain::unkeyed_hash(&keyed.prev_hash, &chain::canonical(&keyed));
    behind_the_back(&mut conn, &insert_sql(&keyed));
    let report = verify(&mut conn);
    let b = report
        .breaks
        .iter()
        .find(|b| b.sample_id == s[1].id)
        .unwrap();
    assert_break(b, &s[1], 5, Some(&keyed), Problem::HashMismatch);
}

#[actix_web::test]
async fn an_event_altered_with_every_later_hash_recomputed_is_caught() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-7");
    let mut conn = lab.app.db.conn();
    let mut chain = events(&mut conn, &s[1]);
    // Event 2 gets a new reason; 2, 3 and 4 are re-hashed with the documented algorithm, and
    // their audit entries and the sample's head rewritten to match.
    chain[1].reason = Some("Precinto cambiado".into());
    rewrite_unkeyed(&mut conn, &mut chain, 1);
    let b = only_break(&mut conn);
    assert_break(&b, &s[1], 2, Some(&chain[1]), Problem::UnkeyedEvent);
}

#[actix_web::test]
async fn a_status_that_disagrees_with_the_last_event_is_caught() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-8");
    let mut conn = lab.app.db.conn();
    let last = events(&mut conn, &s[0]).pop().unwrap();
    behind_the_back(
        &mut conn,
        &format!(
            "UPDATE samples SET status = 'disposed' WHERE id = '{}'",
            s[0].id
        ),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 4, Some(&last), Problem::StatusMismatch);
}

#[actix_web::test]
async fn a_missing_or_changed_audit_entry_is_caught() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-9");
    let mut conn = lab.app.db.conn();
    let chain = events(&mut conn, &s[0]);
    behind_the_back(
        &mut conn,
        &format!("DELETE FROM audit_log WHERE entity_id = '{}'", chain[1].id),
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 2, Some(&chain[1]), Problem::AuditMissing);
}

#[actix_web::test]
async fn keys_rotate_old_ones_still_verify_and_unknown_ones_are_named() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-10");
    let mut conn = lab.app.db.conn();
    let rotated = Keyring::new(b"the next custody key, 32 bytes..", &[CUSTODY_KEY.to_vec()]);
    let report = verify::verify_all(&mut conn, &rotated, |_, _| Ok(())).unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    let lost = Keyring::new(b"the next custody key, 32 bytes..", &[]);
    let report = verify::verify_all(&mut conn, &lost, |_, _| Ok(())).unwrap();
    assert_eq!(report.breaks.len(), 2);
    let first = events(&mut conn, &s[0])[0].clone();
    let b = report
        .breaks
        .iter()
        .find(|b| b.sample_id == s[0].id)
        .unwrap();
    assert_break(b, &s[0], 1, Some(&first), Problem::UnknownKey);
}

/// Re-hashes `chain` from index `from` on with the unkeyed version-1 algorithm and rewrites
/// the events, their audit entries and the sample's head to match, as a forger (or the
/// application before keyed custody) would have them.
fn rewrite_unkeyed(conn: &mut DbConn, chain: &mut [CustodyEvent], from: usize) {
    let mut sql = Vec::new();
    for i in from..chain.len() {
        chain[i].prev_hash = match i {
            0 => custody::GENESIS.to_string(),
            _ => chain[i - 1].hash.clone(),
        };
        v1(&mut chain[i]);
        sql.push(set_chain_sql(&chain[i]));
        let json = serde_json::to_string(&chain[i])
            .unwrap()
            .replace('\'', "''");
        sql.push(format!(
            "UPDATE audit_log SET after_json = '{json}' WHERE entity_id = '{}'",
            chain[i].id
        ));
    }
    let head = chain.last().unwrap();
    sql.push(format!(
        "UPDATE samples SET custody_head_hash = '{}' WHERE id = '{}'",
        head.hash, head.sample_id
    ));
    behind_the_back(conn, &sql.join("; "));
}

/// Turns these samples' chains into what the application recorded before keyed custody.
fn make_unkeyed(conn: &mut DbConn, samples: &[Sample]) {
    for s in samples {
        let mut chain = events(conn, s);
        rewrite_unkeyed(conn, &mut chain, 0);
    }
}

#[actix_web::test]
async fn old_unkeyed_chains_still_verify_once_sealed_and_nothing_after_the_seal_passes() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-11");
    let mut conn = lab.app.db.conn();
    make_unkeyed(&mut conn, &s);
    // Before sealing, an unkeyed chain proves nothing.
    assert_eq!(verify(&mut conn).breaks.len(), 2);
    let keys = key::installed().unwrap();
    let cli = lims::audit::Actor::command_line();
    assert_eq!(
        custody::seal::seal_unkeyed_chains(&mut conn, keys, &cli).unwrap(),
        2
    );
    assert!(verify(&mut conn).breaks.is_empty());
    // Sealing happens once.
    assert_eq!(
        custody::seal::seal_unkeyed_chains(&mut conn, keys, &cli).unwrap(),
        0
    );

    // New events continue the old chain under the key.
    let s0 = lims::sample::find(&mut conn, &s[0].id).unwrap();
    let next = lab
        .record(
            &s0,
            EventInput {
                new_seal_number: "LAB-PR-5".into(),
                ..event(EventKind::Resealed)
            },
        )
        .unwrap();
    assert_eq!(next.seq, 5);
    assert!(next.key_id.is_some());
    assert!(verify(&mut conn).breaks.is_empty());

    // An unkeyed event after the keyed one, as a forger would append it, is refused.
    let mut forged = forged_after(&next, EventKind::Destroyed);
    v1(&mut forged);
    behind_the_back(&mut conn, &insert_sql(&forged));
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 6, Some(&forged), Problem::UnkeyedEvent);

    // Rewriting the sealed old chain consistently (events, audit, head) misses the seal.
    let mut chain = events(&mut conn, &s[1]);
    chain[0].reason = Some("Otro motivo".into());
    rewrite_unkeyed(&mut conn, &mut chain, 0);
    let report = verify(&mut conn);
    let b = report
        .breaks
        .iter()
        .find(|b| b.sample_id == s[1].id)
        .unwrap();
    assert_break(b, &s[1], 4, Some(&chain[3]), Problem::SealMismatch);
}

#[actix_web::test]
async fn unkeyed_chains_that_appear_after_keyed_custody_began_are_never_sealed() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-12");
    let mut conn = lab.app.db.conn();
    make_unkeyed(&mut conn, &s[..1]);
    let keys = key::installed().unwrap();
    let cli = lims::audit::Actor::command_line();
    assert_eq!(
        custody::seal::seal_unkeyed_chains(&mut conn, keys, &cli).unwrap(),
        0
    );
    let b = only_break(&mut conn);
    assert_break(&b, &s[0], 1, None, Problem::UnkeyedEvent);
}

#[actix_web::test]
async fn every_custody_column_is_inside_the_hashed_canonical_form() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-13");
    let mut conn = lab.app.db.conn();
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let catalogue = if lab.app.db.is_postgres() {
        "SELECT column_name::text AS name FROM information_schema.columns \
         WHERE table_name = 'custody_events'"
    } else {
        "SELECT name FROM pragma_table_info('custody_events')"
    };
    let columns: Vec<Column> = diesel::sql_query(catalogue).load(&mut *conn).unwrap();
    let columns: BTreeSet<String> = columns.into_iter().map(|c| c.name).collect();
    let e = events(&mut conn, &s[0]).pop().unwrap();
    let pairs: Vec<(String, serde_json::Value)> =
        serde_json::from_str(&chain::canonical(&e)).unwrap();
    let mut hashed: BTreeSet<String> = pairs.into_iter().map(|(n, _)| n).collect();
    hashed.remove("v");
    // prev_hash is the chain input of the hash and hash its output.
    hashed.extend(["prev_hash".to_string(), "hash".to_string()]);
    assert_eq!(columns, hashed);
    assert_eq!(columns.len(), 31);
}

/// Writes a checkpoint file as `lims custody-checkpoint` does.
fn write_checkpoint(conn: &mut DbConn, path: &Path) -> checkpoint::Summary {
    let mut out = std::fs::File::create(path).unwrap();
    checkpoint::write(conn, key::installed().unwrap(), lims::db::now(), &mut out).unwrap()
}

fn since(conn: &mut DbConn, path: &Path) -> Vec<ChainBreak> {
    let keys = key::installed().unwrap();
    let open = || BufReader::new(std::fs::File::open(path).unwrap());
    checkpoint::check(keys, open()).unwrap();
    checkpoint::compare(conn, open()).unwrap()
}

#[actix_web::test]
async fn a_database_put_back_to_an_older_state_is_caught_by_the_checkpoint() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-14");
    let mut conn = lab.app.db.conn();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoint.txt");
    let summary = write_checkpoint(&mut conn, &file);
    assert_eq!((summary.samples, summary.events), (2, 8));
    assert!(since(&mut conn, &file).is_empty());

    // Events recorded after the checkpoint extend it.
    for x in &s {
        lab.record(
            &lims::sample::find(&mut conn, &x.id).unwrap(),
            EventInput {
                new_seal_number: format!("LAB-{}", x.lab_code),
                ..event(EventKind::Resealed)
            },
        )
        .unwrap();
    }
    assert!(since(&mut conn, &file).is_empty());

    // Everything about sample 0 after event 2 removed consistently: events, audit entries,
    // head and status, as an older copy of the database would hold it.
    let chain = events(&mut conn, &s[0]);
    let ids: Vec<String> = chain[2..].iter().map(|e| format!("'{}'", e.id)).collect();
    behind_the_back(
        &mut conn,
        &format!(
            "DELETE FROM custody_events WHERE id IN ({ids}); \
             DELETE FROM audit_log WHERE entity_id IN ({ids}); \
             UPDATE samples SET status = 'registered', custody_head_seq = 2, \
             custody_head_hash = '{}' WHERE id = '{}'",
            chain[1].hash,
            s[0].id,
            ids = ids.join(", ")
        ),
    );
    assert!(
        verify(&mut conn).breaks.is_empty(),
        "nothing inside shows it"
    );
    let found = since(&mut conn, &file);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_break(&found[0], &s[0], 3, None, Problem::MissingSinceCheckpoint);

    // Another event now where the checkpoint saw sample 1's head.
    let head1 = events(&mut conn, &s[1])[3].clone();
    behind_the_back(
        &mut conn,
        &format!(
            "UPDATE custody_events SET hash = '{}' WHERE id = '{}'",
            "cd".repeat(32),
            head1.id
        ),
    );
    let found = since(&mut conn, &file);
    assert_eq!(found.len(), 2, "{found:?}");
    let b = found.iter().find(|b| b.sample_id == s[1].id).unwrap();
    assert_break(b, &s[1], 4, Some(&head1), Problem::RewrittenSinceCheckpoint);

    let path = file.to_string_lossy().to_string();
    let (ok, out) = lims_cli(&lab, &["verify-custody", "--since", &path]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("BROKEN {}: first bad event #3", s[0].lab_code)),
        "{out}"
    );
    assert!(out.contains("missing_since_checkpoint"), "{out}");
}

/// A copy of the whole database as it is now, like a backup: a `VACUUM INTO` file on SQLite,
/// a database cloned from this one on PostgreSQL (dropped with the guard).
struct OlderCopy {
    url: String,
    pg: Option<(String, String)>,
}

impl OlderCopy {
    fn take(lab: &Lab, dir: &Path) -> OlderCopy {
        if !lab.app.db.is_postgres() {
            let file = dir.join("older.db");
            lims::backup::backup(&mut lab.app.db.conn(), &file).unwrap();
            return OlderCopy {
                url: format!("sqlite://{}", file.display()),
                pg: None,
            };
        }
        let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
        let mut url = url::Url::parse(&lab.app.db.url).unwrap();
        let name = url.path().trim_start_matches('/').to_string();
        let copy = format!("{name}_older");
        let mut admin = diesel::pg::PgConnection::establish(&admin_url).unwrap();
        // Cloning needs the source idle: close the pool's sessions (it reopens them later).
        let mut tries = 0;
        let terminate = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        );
        while let Err(e) = admin
            .batch_execute(&terminate)
            .and_then(|_| admin.batch_execute(&format!("CREATE DATABASE {copy} TEMPLATE {name}")))
        {
            tries += 1;
            assert!(tries < 20, "cannot clone the test database: {e}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // The pool's connections were cut: let each fail once, so the pool drops it.
        let held: Vec<_> = (0..lab.app.db.pool.max_size())
            .filter_map(|_| {
                lab.app
                    .db
                    .pool
                    .get_timeout(std::time::Duration::from_millis(200))
                    .ok()
            })
            .collect();
        for mut conn in held {
            let _ = conn.batch_execute("SELECT 1");
        }
        url.set_path(&format!("/{copy}"));
        OlderCopy {
            url: url.to_string(),
            pg: Some((admin_url, copy)),
        }
    }
}

impl Drop for OlderCopy {
    fn drop(&mut self) {
        if let Some((admin_url, copy)) = &self.pg {
            if let Ok(mut admin) = diesel::pg::PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {copy} WITH (FORCE)"));
            }
        }
    }
}

#[actix_web::test]
async fn an_older_copy_of_the_whole_database_is_caught_by_a_later_checkpoint() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-15");
    let dir = tempfile::tempdir().unwrap();
    let older = OlderCopy::take(&lab, dir.path());
    let mut conn = lab.app.db.conn();
    lab.record(
        &lims::sample::find(&mut conn, &s[1].id).unwrap(),
        EventInput {
            new_seal_number: "LAB-PR-X".into(),
            ..event(EventKind::Resealed)
        },
    )
    .unwrap();
    let file = dir.path().join("checkpoint.txt");
    let (ok, out) = lims_cli(&lab, &["custody-checkpoint", &file.to_string_lossy()]);
    assert!(ok, "{out}");
    let data = lab.app.db.data_dir();
    let (ok, out) = lims_cli_on(&older.url, &data, &["verify-custody"]);
    assert!(ok, "the older copy is consistent in itself: {out}");
    let (ok, out) = lims_cli_on(
        &older.url,
        &data,
        &["verify-custody", "--since", &file.to_string_lossy()],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "BROKEN {}: first bad event #5 — missing_since_checkpoint",
            s[1].lab_code
        )),
        "{out}"
    );
    assert!(!out.contains(&format!("BROKEN {}", s[0].lab_code)), "{out}");
    // The live database extends its own checkpoint.
    let (ok, out) = lims_cli(
        &lab,
        &["verify-custody", "--since", &file.to_string_lossy()],
    );
    assert!(ok, "{out}");
    assert!(out.contains("every chain extends the checkpoint"), "{out}");
}

#[actix_web::test]
async fn a_tampered_checkpoint_is_refused() {
    let lab = lab();
    let s = two_samples(&lab, "ACTA-T-16");
    let mut conn = lab.app.db.conn();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("checkpoint.txt");
    write_checkpoint(&mut conn, &file);
    let text = std::fs::read_to_string(&file).unwrap();
    let keys = key::installed().unwrap();
    let check = |t: &str| checkpoint::check(keys, t.as_bytes());
    assert!(check(&text).is_ok());

    // A head moved back (as if the chain had been shorter), a head line removed, a count
    // changed: each breaks the signature.
    let head = text.lines().find(|l| l.contains(s[0].id.as_str())).unwrap();
    let shorter = head.replace(" 4 ", " 3 ");
    for bad in [
        text.replace(head, &shorter),
        text.replace(&format!("{head}\n"), ""),
        text.replace("samples 2", "samples 1"),
    ] {
        assert!(
            matches!(check(&bad), Err(CheckpointError::BadSignature)),
            "{bad}"
        );
    }
    assert!(matches!(
        check(&text.replace("lims custody checkpoint v1", "hello")),
        Err(CheckpointError::Malformed(1))
    ));
    let other = Keyring::new(b"another lab's custody key, 32 by", &[]);
    assert!(matches!(
        checkpoint::check(&other, text.as_bytes()),
        Err(CheckpointError::UnknownKey(_))
    ));

    let forged = dir.path().join("forged.txt");
    std::fs::write(&forged, text.replace(head, &shorter)).unwrap();
    let (ok, out) = lims_cli(
        &lab,
        &["verify-custody", "--since", &forged.to_string_lossy()],
    );
    assert!(!ok);
    assert!(out.contains("refused") && out.contains("altered"), "{out}");
}

#[actix_web::test]
async fn supervisors_download_a_checkpoint_and_others_cannot_verify() {
    let lab = lab();
    two_samples(&lab, "ACTA-T-17");
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    assert_eq!(
        c.get("/custody/verify").await.status,
        actix_web::http::StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get("/custody/checkpoint").await.status,
        actix_web::http::StatusCode::FORBIDDEN
    );
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/custody/verify")
        .await
        .assert_contains("Todavía no se ha verificado");
    let download = c.get("/custody/checkpoint").await;
    assert_eq!(download.status, actix_web::http::StatusCode::OK);
    assert!(download
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"custody-checkpoint-"));
    let summary = checkpoint::check(key::installed().unwrap(), download.body.as_bytes()).unwrap();
    assert_eq!(summary.samples, 2);
    let page = run_on_page(&mut c).await;
    page.assert_contains("Todas las cadenas de custodia están íntegras.");
    page.assert_contains("Muestras verificadas: 2");
}

#[test]
fn the_custody_key_is_generated_once_into_the_data_folder_apart_from_the_cookie_key() {
    use base64::Engine;
    let lab = lab();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = lims_cli_on(&lab.app.db.url, &data, &["migrate"]);
    assert!(ok, "{out}");
    let file = data.join("custody.key");
    let text = std::fs::read_to_string(&file).unwrap();
    let secret = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap();
    assert_eq!(secret.len(), 32);
    assert_ne!(
        std::fs::read_to_string(data.join("secret.key")).unwrap(),
        text
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The next start uses the same key: a checkpoint names it.
    let checkpoint = dir.path().join("c.txt");
    let (ok, out) = lims_cli_on(
        &lab.app.db.url,
        &data,
        &["custody-checkpoint", &checkpoint.to_string_lossy()],
    );
    assert!(ok, "{out}");
    let id = key::Key::new(&secret).id().to_string();
    assert!(out.contains(&format!("key {id}")), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    // A checkpoint is never overwritten.
    let (ok, out) = lims_cli_on(
        &lab.app.db.url,
        &data,
        &["custody-checkpoint", &checkpoint.to_string_lossy()],
    );
    assert!(!ok && out.contains("cannot create"), "{out}");

    // A key given in the environment must be long enough.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lims"))
        .arg("migrate")
        .env("DATABASE_URL", &lab.app.db.url)
        .env("LIMS_DATA_DIR", &data)
        .env("LIMS_CUSTODY_KEY", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("LIMS_CUSTODY_KEY must be at least 32 characters"),
        "{err}"
    );
}
