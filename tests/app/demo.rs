//! `lims seed-demo`: a realistic lab written through the domain functions.

use std::collections::BTreeSet;

use crate::common::TestApp;
use lims::user::Role;

#[test]
fn seed_demo_builds_a_consistent_lab_and_can_run_twice() {
    let app = TestApp::new();
    let mut conn = app.db.conn();
    let tz = chrono_tz::America::Lima;
    let mut seen = Vec::new();
    let created = lims::demo::seed(&mut conn, 30, tz, Some(7), |n| seen.push(n)).unwrap();
    assert_eq!(created.seizures, 30);
    assert_eq!(seen.last(), Some(&30), "progress reaches the end");
    let roles: BTreeSet<&str> = created
        .accounts
        .iter()
        .map(|(_, r, _)| r.as_str())
        .collect();
    assert_eq!(roles.len(), 4, "every role has an account");
    for (username, _, password) in &created.accounts {
        let u = lims::user::find_by_username(&mut conn, username)
            .unwrap()
            .unwrap();
        assert!(lims::user::password::verify(password, &u.password_hash));
    }

    use diesel::prelude::*;
    use lims::db::schema::samples;
    let statuses: Vec<String> = samples::table
        .select(samples::status)
        .load(&mut conn)
        .unwrap();
    let top_level: i64 = samples::table
        .filter(samples::parent_id.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(top_level as usize, created.samples);
    assert!(statuses.len() > created.samples, "some samples were split");
    let distinct: BTreeSet<&str> = statuses.iter().map(String::as_str).collect();
    for s in ["registered", "received", "rejected", "returned", "disposed"] {
        assert!(distinct.contains(s), "{s} missing from {distinct:?}");
    }
    assert!(lims::storage::active_options(&mut conn).unwrap().len() >= 5);
    let report = crate::custody_tamper::verify(&mut conn);
    assert!(report.samples >= created.samples);
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);

    // The lab's records: methods typical of a customs lab (some revised), instruments some
    // due and some overdue, staff trained and authorized.
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let methods = lims::method::in_use(&mut conn).unwrap();
    assert!(methods.len() >= 8, "{} methods", methods.len());
    assert!(methods.iter().any(|(m, _)| m.current_version == 2));
    assert!(lims::instrument::due_count(&mut conn, today).unwrap() >= 3);
    let matrix = lims::personnel::matrix(&mut conn, today).unwrap();
    let tech = lims::user::find_by_username(&mut conn, "tecnico1")
        .unwrap()
        .unwrap();
    let authorized = methods
        .iter()
        .filter(|(m, _)| matrix.cell(&tech.id, &m.id).0 == "active")
        .count();
    assert!(
        authorized >= 4,
        "tecnico1 holds {authorized} authorizations"
    );
    let tech3 = lims::user::find_by_username(&mut conn, "tecnico3")
        .unwrap()
        .unwrap();
    let revoked = lims::personnel::authorizations(&mut conn, &tech3.id).unwrap();
    assert!(revoked.iter().any(|(a, _, _)| a.revoked_at.is_some()));

    // Tests in every state of their workflow, one rejected and retested, and a sample whose
    // tests are all approved awaiting its report.
    use lims::db::schema::analyses;
    let all: Vec<(String, Option<String>, Option<String>, bool)> = analyses::table
        .select((
            analyses::status,
            analyses::retest_of_id,
            analyses::analyst_id,
            analyses::is_external,
        ))
        .load(&mut conn)
        .unwrap();
    // A partner laboratory's result, approved; it has no analyst of ours.
    assert!(all
        .iter()
        .any(|(s, _, a, ext)| *ext && s == "approved" && a.is_none()));
    let tests: Vec<(String, Option<String>, Option<String>)> = all
        .iter()
        .filter(|t| !t.3)
        .map(|(s, r, a, _)| (s.clone(), r.clone(), a.clone()))
        .collect();
    let states: BTreeSet<&str> = tests.iter().map(|(s, _, _)| s.as_str()).collect();
    for s in [
        "assigned",
        "in_progress",
        "submitted",
        "approved",
        "rejected",
    ] {
        assert!(states.contains(s), "no test {s}: {states:?}");
    }
    assert!(tests
        .iter()
        .any(|(s, retest_of, _)| s == "approved" && retest_of.is_some()));
    let technicians: BTreeSet<String> = lims::db::schema::users::table
        .filter(lims::db::schema::users::role.eq("technician"))
        .select(lims::db::schema::users::id)
        .load::<String>(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    assert!(tests
        .iter()
        .all(|(_, _, a)| a.as_ref().is_some_and(|a| technicians.contains(a))));
    assert!(statuses_now(&mut conn).contains(&"awaiting_report".to_string()));
    let tests_before = all.len();

    // A second run adds seizures and leaves the accounts alone.
    let again = lims::demo::seed(&mut conn, 5, tz, None, |_| {}).unwrap();
    assert!(again.accounts.is_empty());
    let references: i64 = lims::db::schema::seizures::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(references, 35);
    assert_eq!(
        lims::method::in_use(&mut conn).unwrap().len(),
        methods.len()
    );
    let admin = lims::user::find_by_username(&mut conn, "admin")
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    let tests_after: i64 = analyses::table.count().get_result(&mut conn).unwrap();
    assert_eq!(tests_after as usize, tests_before, "tests are seeded once");
}

fn statuses_now(conn: &mut lims::db::DbConn) -> Vec<String> {
    use diesel::prelude::*;
    lims::db::schema::samples::table
        .select(lims::db::schema::samples::status)
        .load(conn)
        .unwrap()
}
