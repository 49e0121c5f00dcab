//! The integration suite: one test binary (one link, one migrated template database per run),
//! one module per area. Every test drives the real app against a fresh database: a copy of
//! the template SQLite file, or a PostgreSQL database cloned from the template when
//! TEST_DATABASE_URL is set.

mod common;

mod analyses;
mod api;
mod attachments;
mod auth;
mod browser;
mod custody;
mod custody_tamper;
mod database;
mod demo;
mod desk;
mod external;
mod i18n;
mod input;
mod instruments;
mod lab_schema;
mod lists;
mod load;
mod locations;
mod methods;
mod openapi;
mod personnel;
mod portal;
mod report_pdf;
mod reports;
mod requests;
mod schema;
mod search_audit;
mod seizform;
mod sessions;
mod tariff;
mod ui;
mod users;
mod verify;
