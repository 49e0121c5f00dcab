//! Customs laboratory LIMS: seizures, samples, chain of custody, tests, review and reports.

rust_i18n::i18n!("locales", fallback = "es");

pub mod access;
pub mod api_token;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod config;
pub mod country;
pub mod db;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod storage;
pub mod tariff;
pub mod user;
pub mod validation;
pub mod web;
