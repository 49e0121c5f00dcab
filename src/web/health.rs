//! `GET /healthz` for load balancers: 200 when the database answers, 503 otherwise.

use actix_web::{web, HttpResponse};
use diesel::connection::SimpleConnection;

use crate::web::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz));
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || {
        pool.get_timeout(std::time::Duration::from_secs(3))
            .ok()
            .is_some_and(|mut c| c.batch_execute("SELECT 1").is_ok())
    })
    .await
    .unwrap_or(false);
    if ok {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ok", "database": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unavailable", "database": "unreachable" }))
    }
}
