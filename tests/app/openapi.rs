//! The OpenAPI document: served without a token, every error response a problem document,
//! and equal to the committed snapshot (`UPDATE_SNAPSHOTS=1 cargo test --test app openapi`
//! rewrites it after a deliberate change of the API).

use actix_web::http::StatusCode;
use serde_json::Value;

use crate::common::TestApp;

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/app/snapshots/openapi.json"
);

#[actix_rt::test]
async fn the_document_is_public_and_matches_its_snapshot() {
    let app = TestApp::new();
    let mut c = app.client().await;
    let p = c.get("/api/v1/openapi.json").await;
    assert_eq!(p.status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&p.body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') {
                    continue;
                }
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
            for status in ["401", "403", "404", "500"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    assert_eq!(operations, 7);

    let pretty = serde_json::to_string_pretty(&doc).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == pretty,
        "the OpenAPI document changed; if on purpose, rerun with UPDATE_SNAPSHOTS=1 and commit \
         {SNAPSHOT}"
    );
}
