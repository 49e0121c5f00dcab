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

    // A second run adds seizures and leaves the accounts alone.
    let again = lims::demo::seed(&mut conn, 5, tz, None, |_| {}).unwrap();
    assert!(again.accounts.is_empty());
    let references: i64 = lims::db::schema::seizures::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(references, 35);
    let admin = lims::user::find_by_username(&mut conn, "admin")
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
}
