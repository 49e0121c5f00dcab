//! Under load: keyset pages at equal timestamps, the sample page reading only what it shows,
//! and requests that answer 503 quickly when the database cannot serve them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::common::{Page, TestApp, ADMIN};
use lims::db::schema::samples;
use lims::db::{ConnManager, DbUrl};
use lims::sample::receipt::{self, ReceiptInput};
use lims::sample::{self, SampleFilter};
use lims::storage::{self, NewLocationInput};
use lims::user::{self, Role};

const PW: &str = "lab-password-1";
const TZ: chrono_tz::Tz = chrono_tz::America::Lima;
/// What "quickly" means: the database's wait bound plus room for a slow, shared machine.
const QUICKLY: Duration = Duration::from_secs(8);

/// A 503 with the readable page, answered within `QUICKLY` of `start`.
#[track_caller]
fn assert_quick_503(page: &Page, start: Instant) {
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(start.elapsed() < QUICKLY, "took {:?}", start.elapsed());
    page.assert_contains("La base de datos no responde");
}

#[actix_web::test]
async fn keyset_pages_at_one_timestamp_return_every_row_once() {
    let app = TestApp::with_admin();
    let officer = app.create_user("oficial", Role::Enforcement, PW);
    app.register(&officer, "ACTA-K-1", &["K1-1", "K1-2", "K1-3", "K1-4"]);
    app.register(&officer, "ACTA-K-2", &["K2-1", "K2-2", "K2-3"]);
    let mut conn = app.db.conn();
    // Rows imported at one instant differ only by id: the row-value cursor must order them.
    let same = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    diesel::update(samples::table)
        .set(samples::created_at.eq(same))
        .execute(&mut conn)
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let (rows, next) =
            sample::list(&mut conn, &SampleFilter::default(), after.as_ref(), 2).expect("a page");
        seen.extend(rows.into_iter().map(|r| r.sample.id));
        match next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut expected = seen.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(seen.len(), 7);
    assert_eq!(seen, expected, "newest id first, none twice");
}

#[actix_web::test]
async fn the_sample_page_names_the_people_and_places_of_its_own_events() {
    let app = TestApp::with_admin();
    let officer = app.create_user("oficial", Role::Enforcement, PW);
    let tech = app.create_user("tecnico", Role::Technician, PW);
    let other = app.create_user("otra", Role::Technician, PW);
    let s = app.register(&officer, "ACTA-N-1", &["N-1"]).remove(0);
    let mut conn = app.db.conn();
    let admin = user::find_by_username(&mut conn, ADMIN.0).unwrap().unwrap();
    let add = |conn: &mut lims::db::DbConn, code: &str, name: &str, kind: &str, parent: &str| {
        storage::create(
            conn,
            &admin.actor(None),
            &NewLocationInput {
                code: code.into(),
                name: name.into(),
                kind: kind.into(),
                parent_id: parent.into(),
            },
        )
        .unwrap()
        .id
    };
    let room = add(&mut conn, "R-1", "Sala de muestras", "room", "");
    let fridge = add(&mut conn, "F-1", "Refrigerador 1", "fridge", room.as_str());
    add(
        &mut conn,
        "F-2",
        "Refrigerador sin uso",
        "fridge",
        room.as_str(),
    );
    let who = tech.handler(None);
    let input = ReceiptInput {
        seal_number: s.seal_number.clone().unwrap_or_default(),
        seal_intact: "yes".into(),
        quantity_sufficient: "yes".into(),
        delivered_by: "Of. Soto".into(),
        storage_location_id: fridge.to_string(),
        decision: "accept".into(),
        ..Default::default()
    };
    receipt::receive(&mut conn, &who, &s.id, &input, TZ).expect("receive");

    let names = user::names_of(&mut conn, &[tech.id.clone(), officer.id.clone()]).unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(
        names.get(&tech.id).map(String::as_str),
        Some("tecnico Test")
    );
    assert!(!names.contains_key(&other.id));
    let paths = storage::paths_of(&mut conn, std::slice::from_ref(&fridge)).unwrap();
    assert_eq!(paths.len(), 1);
    assert_eq!(
        paths.get(&fridge).map(String::as_str),
        Some("Sala de muestras / Refrigerador 1")
    );
    drop(conn);

    let mut c = app.client().await;
    c.login("tecnico", PW).await;
    let page = c.get(&format!("/samples/{}", s.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("tecnico Test");
    page.assert_contains("oficial Test");
    page.assert_contains("Sala de muestras / Refrigerador 1");
    assert!(!page.contains("Refrigerador sin uso"));
}

#[actix_web::test]
async fn requests_answer_503_quickly_when_no_connection_is_free() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    let held: Vec<_> = (0..app.db.pool.max_size())
        .map(|_| app.db.pool.get().expect("a connection"))
        .collect();
    let start = Instant::now();
    assert_quick_503(&c.get("/admin/users").await, start);
    drop(held);
    assert_eq!(c.get("/admin/users").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn a_write_blocked_by_a_database_lock_answers_503_quickly() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/locations").await;
    // Another process, or a transaction left open, holds what the write needs.
    let mut holder = ConnManager::new(DbUrl::parse(&app.db.url).unwrap())
        .connect()
        .unwrap();
    if app.db.is_postgres() {
        holder
            .batch_execute("BEGIN; LOCK TABLE storage_locations IN EXCLUSIVE MODE")
            .unwrap();
    } else {
        holder.batch_execute("BEGIN IMMEDIATE").unwrap();
    }
    let fields = [
        ("code", "F-1"),
        ("name", "Refrigerador 1"),
        ("kind", "fridge"),
    ];
    let start = Instant::now();
    assert_quick_503(&c.post("/admin/locations", &fields).await, start);
    holder.batch_execute("ROLLBACK").unwrap();
    c.get("/admin/locations").await;
    c.post("/admin/locations", &fields)
        .await
        .assert_redirect("/admin/locations");
}

#[test]
fn work_queued_for_a_thread_longer_than_the_wait_is_refused_without_running() {
    let app = TestApp::with_admin();
    // As `web::run` serves: no more blocking threads than pooled connections.
    let threads = app.db.pool.max_size() as usize;
    let system = actix_web::rt::System::with_tokio_rt(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(threads)
            .build()
            .unwrap()
    });
    system.block_on(async move {
        let busy: Vec<_> = (0..threads)
            .map(|_| {
                let state = app.state.clone();
                actix_web::rt::spawn(async move {
                    state
                        .db(|_| {
                            std::thread::sleep(lims::db::WAIT + Duration::from_secs(1));
                            Ok(())
                        })
                        .await
                })
            })
            .collect();
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let late = app
            .state
            .db(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            })
            .await;
        assert!(
            matches!(late, Err(lims::error::AppError::Unavailable(_))),
            "{late:?}"
        );
        assert!(!ran.load(Ordering::SeqCst), "a late request must not write");
        for task in busy {
            task.await.unwrap().unwrap();
        }
        app.state.db(|_| Ok(())).await.unwrap();
    });
}
