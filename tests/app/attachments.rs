//! Attachments: upload streamed to the store under its SHA-256, download checked against it,
//! the size limit with nothing left behind, withdrawal with a reason, who may see them; and
//! the same round trip against an S3-compatible server (ignored; `.ci/run` starts one).

use lims::attachment::{self, Owner};
use lims::blob::BlobStore;
use lims::ids::SampleId;
use lims::user::Role;
use sha2::{Digest, Sha256};

use crate::common::TestApp;

const PW: &str = "clave de laboratorio";

/// A sample registered by a customs officer, the lab technician signed in on `client`.
async fn sample_and_technician(app: &TestApp) -> SampleId {
    let officer = app.create_user("oficial", Role::Enforcement, PW);
    app.create_user("tecnica", Role::Technician, PW);
    app.register(&officer, "ACTA-2026-0700", &["S-1"])[0]
        .id
        .clone()
}

fn files_of(app: &TestApp, sample: &SampleId) -> Vec<attachment::Listed> {
    attachment::of_owner(&mut app.db.conn(), &Owner::Sample(sample.clone())).unwrap()
}

/// Every regular file under `dir` (none if it does not exist).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let path = e.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

const RAW: &[u8] = b"time,signal\n0.0,12\n0.1,340\n0.2,9\n";

/// Signs the technician in on `t` and uploads `name` to the sample's attachments; the row.
async fn upload_as_technician<S, B>(
    app: &TestApp,
    t: &mut crate::common::Client<S>,
    sample: &SampleId,
    name: &str,
) -> attachment::Attachment
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    t.login("tecnica", PW).await;
    let upload = format!("/attachments/sample/{sample}");
    t.get(&upload).await;
    t.post_multipart(&upload, &[], ("file", name, RAW))
        .await
        .assert_redirect(&upload);
    files_of(app, sample).pop().unwrap().attachment
}

#[actix_web::test]
async fn an_upload_is_stored_under_its_hash_and_downloaded_checked() {
    let app = TestApp::with_admin();
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    t.login("tecnica", PW).await;
    let page_url = format!("/samples/{sample}");
    let page = t.get(&page_url).await;
    page.assert_contains("enctype=\"multipart/form-data\"");
    let upload = format!("/attachments/sample/{sample}");
    t.post_multipart(
        &upload,
        &[("description", "GC-MS run 1"), ("back", &page_url)],
        ("file", "cromatograma ñ.csv", RAW),
    )
    .await
    .assert_redirect(&page_url);

    let sha = hex::encode(Sha256::digest(RAW));
    let page = t.get(&page_url).await;
    page.assert_contains("cromatograma ñ.csv");
    page.assert_contains(&sha);
    page.assert_contains("GC-MS run 1");

    let files = files_of(&app, &sample);
    assert_eq!(files.len(), 1);
    let row = &files[0].attachment;
    assert_eq!(row.sha256, sha);
    assert_eq!(row.size_bytes, RAW.len() as i64);
    assert_eq!(row.uploaded_by.as_str(), {
        let who = lims::user::find_by_username(&mut app.db.conn(), "tecnica");
        who.unwrap().unwrap().id.0
    });
    let stored = app.db.data_dir().join("attachments").join(&row.storage_key);
    assert_eq!(std::fs::read(&stored).unwrap(), RAW);
    let audit = app.audit_of("attachment");
    assert_eq!(audit[0].action, "upload");

    let got = t.get(&format!("/attachment/{}", row.id)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body.as_bytes(), RAW);
    let disposition = got
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''cromatograma%20%C3%B1.csv"),
        "{disposition}"
    );

    // The same bytes again: a second record, one stored object.
    t.get(&page_url).await;
    t.post_multipart(&upload, &[], ("file", "copia.csv", RAW))
        .await
        .assert_redirect(&upload);
    assert_eq!(files_of(&app, &sample).len(), 2);
    assert_eq!(files_under(&app.db.data_dir().join("attachments")).len(), 1);
}

#[actix_web::test]
async fn stored_bytes_that_no_longer_match_their_hash_are_refused() {
    let app = TestApp::with_admin();
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    let row = upload_as_technician(&app, &mut t, &sample, "espectro.csv").await;
    let stored = app.db.data_dir().join("attachments").join(&row.storage_key);
    std::fs::write(&stored, b"time,signal\n0.0,12\n0.1,999\n0.2,9\n").unwrap();
    let got = t.get(&format!("/attachment/{}", row.id)).await;
    assert_eq!(got.status, 500);
    got.assert_contains("SHA-256");
    assert!(!got.body.contains("999"));
}

#[actix_web::test]
async fn an_oversize_upload_is_refused_with_a_message_and_leaves_nothing() {
    let app = TestApp::with_config(|c| c.max_upload_mb = 1);
    app.create_user(crate::common::ADMIN.0, Role::Admin, crate::common::ADMIN.1);
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    t.login("tecnica", PW).await;
    let upload = format!("/attachments/sample/{sample}");
    t.get(&upload).await;
    let big = vec![b'x'; 1024 * 1024 + 1];
    let page = t
        .post_multipart(
            &upload,
            &[("description", "demasiado")],
            ("file", "foto.jpg", &big),
        )
        .await;
    assert_eq!(page.status, 413);
    page.assert_contains("El archivo supera 1 MB");
    page.assert_contains("value=\"demasiado\"");
    assert!(files_of(&app, &sample).is_empty());
    assert!(files_under(&app.db.data_dir().join("tmp")).is_empty());
    assert!(files_under(&app.db.data_dir().join("attachments")).is_empty());
    assert!(app.audit_of("attachment").is_empty());

    // Exactly at the limit is accepted.
    let fits = vec![b'x'; 1024 * 1024];
    t.post_multipart(&upload, &[], ("file", "foto.jpg", &fits))
        .await
        .assert_redirect(&upload);
    assert_eq!(files_of(&app, &sample).len(), 1);
    assert!(files_under(&app.db.data_dir().join("tmp")).is_empty());
}

#[actix_web::test]
async fn an_upload_cut_off_half_way_leaves_nothing() {
    let app = TestApp::with_admin();
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    t.login("tecnica", PW).await;
    let upload = format!("/attachments/sample/{sample}");
    t.get(&upload).await;
    let big = vec![b'y'; 300 * 1024];
    let page = t
        .post_multipart_cut(&upload, &[], ("file", "a-medias.csv", &big), 200 * 1024)
        .await;
    assert_eq!(page.status, 400);
    assert!(files_of(&app, &sample).is_empty());
    assert!(files_under(&app.db.data_dir().join("tmp")).is_empty());
    assert!(files_under(&app.db.data_dir().join("attachments")).is_empty());
    assert!(app.audit_of("attachment").is_empty());
}

#[actix_web::test]
async fn a_withdrawal_needs_a_reason_and_keeps_the_file() {
    let app = TestApp::with_admin();
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    let row = upload_as_technician(&app, &mut t, &sample, "equivocado.csv").await;
    let page_url = format!("/samples/{sample}");
    let withdraw = format!("/attachment/{}/withdraw", row.id);
    t.get(&format!("{withdraw}?back={page_url}")).await;
    let page = t
        .post(&withdraw, &[("reason", "  "), ("back", &page_url)])
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("aria-invalid=\"true\"");
    t.post(
        &withdraw,
        &[
            ("reason", "Corresponde a otra muestra"),
            ("back", &page_url),
        ],
    )
    .await
    .assert_redirect(&page_url);

    let page = t.get(&page_url).await;
    page.assert_contains("<del>equivocado.csv</del>");
    page.assert_contains("Corresponde a otra muestra");
    let files = files_of(&app, &sample);
    assert!(files[0].is_withdrawn());
    assert_eq!(app.audit_of("attachment")[0].action, "withdraw");
    // Once only; the file itself is kept and still served.
    t.get(&withdraw).await;
    let again = t.post(&withdraw, &[("reason", "otra vez")]).await;
    assert_eq!(again.status, 400);
    again.assert_contains("ya fue retirado");
    assert_eq!(t.get(&format!("/attachment/{}", row.id)).await.status, 200);
}

#[actix_web::test]
async fn customs_officers_never_see_raw_attachments() {
    let app = TestApp::with_admin();
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    let row = upload_as_technician(&app, &mut t, &sample, "crudo.csv").await;
    let upload = format!("/attachments/sample/{sample}");

    let mut o = app.client().await;
    o.login("oficial", PW).await;
    let page = o.get(&format!("/samples/{sample}")).await;
    assert_eq!(page.status, 200);
    assert!(!page.contains("crudo.csv"));
    assert!(!page.contains("multipart/form-data"));
    assert_eq!(o.get(&upload).await.status, 403);
    assert_eq!(o.get(&format!("/attachment/{}", row.id)).await.status, 403);
    let withdraw = format!("/attachment/{}/withdraw", row.id);
    assert_eq!(o.get(&withdraw).await.status, 403);
    assert_eq!(
        o.post_multipart(&upload, &[], ("file", "x.csv", RAW))
            .await
            .status,
        403
    );
    assert_eq!(files_of(&app, &sample).len(), 1);
}

/// The same round trip against an S3-compatible server: `LIMS_TEST_S3_URL=s3://bucket` with
/// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_REGION` set, as `.ci/run` does with moto.
#[actix_web::test]
#[ignore = "needs a local S3 server; .ci/run starts moto"]
async fn s3_round_trip() {
    let base = std::env::var("LIMS_TEST_S3_URL").expect("LIMS_TEST_S3_URL=s3://bucket");
    // A prefix of its own, so runs never see each other's objects.
    let url = format!("{base}/run-{}", uuid::Uuid::new_v4().simple());
    let store_url = url.clone();
    let app = TestApp::with_config(move |c| c.storage_url = store_url);
    app.create_user(crate::common::ADMIN.0, Role::Admin, crate::common::ADMIN.1);
    let sample = sample_and_technician(&app).await;
    let mut t = app.client().await;
    t.login("tecnica", PW).await;
    let upload = format!("/attachments/sample/{sample}");
    t.get(&upload).await;
    // Over one 8 MiB part, so the multipart upload has two parts.
    let big: Vec<u8> = (0..9 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    t.post_multipart(&upload, &[], ("file", "espectros.bin", &big))
        .await
        .assert_redirect(&upload);
    let row = files_of(&app, &sample).remove(0).attachment;
    assert_eq!(row.sha256, hex::encode(Sha256::digest(&big)));
    let store = BlobStore::open(&url).unwrap();
    assert!(store.exists(&row.storage_key).await.unwrap());
    assert!(files_under(&app.db.data_dir().join("attachments")).is_empty());

    let got = t.get(&format!("/attachment/{}", row.id)).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.headers
            .get("x-content-sha256")
            .unwrap()
            .to_str()
            .unwrap(),
        row.sha256
    );

    store
        .overwrite(&row.storage_key, b"otra cosa".to_vec())
        .await
        .unwrap();
    assert_eq!(t.get(&format!("/attachment/{}", row.id)).await.status, 500);
}

/// The first row id of a lab-record table seeded by the demo lab.
fn first_id(app: &TestApp, table: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT id FROM {table} ORDER BY id LIMIT 1"))
        .load(&mut app.db.conn())
        .unwrap();
    rows[0].id.clone()
}

#[actix_web::test]
async fn certificates_are_the_supervisors_to_attach_and_the_labs_to_read() {
    let app = TestApp::with_admin();
    let chief = app.create_user("supervisora", Role::Supervisor, PW);
    let deputy = app.create_user("supervisor2", Role::Supervisor, PW);
    let tech = app.create_user("tecnica", Role::Technician, PW);
    {
        let mut conn = app.db.conn();
        let admin = lims::user::find_by_username(&mut conn, "admin")
            .unwrap()
            .unwrap();
        let today = chrono::Utc::now().date_naive();
        lims::demo_lab::ensure_lab_records(&mut conn, &admin, &[chief, deputy], &[tech], today)
            .unwrap();
    }
    let calibration = format!(
        "/attachments/calibration/{}",
        first_id(&app, "calibration_records")
    );
    let training = format!(
        "/attachments/training/{}",
        first_id(&app, "training_records")
    );

    let mut s = app.client().await;
    s.login("supervisora", PW).await;
    for page in [&calibration, &training] {
        s.get(page).await.assert_contains("multipart/form-data");
        s.post_multipart(page, &[], ("file", "certificado.pdf", RAW))
            .await
            .assert_redirect(page);
        s.get(page).await.assert_contains("certificado.pdf");
    }

    // The technician reads the certificate but attaches nothing to it; training files are
    // the supervisors'.
    let mut t = app.client().await;
    t.login("tecnica", PW).await;
    let page = t.get(&calibration).await;
    page.assert_contains("certificado.pdf");
    assert!(!page.contains("multipart/form-data"));
    assert_eq!(
        t.post_multipart(&calibration, &[], ("file", "x.pdf", RAW))
            .await
            .status,
        403
    );
    assert_eq!(t.get(&training).await.status, 403);
    // An owner that does not exist is not found.
    let missing = format!("/attachments/calibration/{}", uuid::Uuid::now_v7());
    assert_eq!(s.get(&missing).await.status, 404);
}
