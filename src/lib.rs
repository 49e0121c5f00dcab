//! Customs laboratory LIMS: seizures, samples, chain of custody, tests, review and reports.

rust_i18n::i18n!("locales", fallback = "es");

pub mod access;
pub mod analysis;
pub mod api_token;
pub mod attachment;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod blob;
pub mod config;
pub mod correction;
pub mod counter;
pub mod country;
pub mod custody;
pub mod db;
pub mod demo;
pub mod demo_lab;
pub mod error;
pub mod i18n;
pub mod ids;
pub mod instrument;
pub mod keyset;
pub mod label;
pub mod logging;
pub mod method;
pub mod office;
pub mod personnel;
pub mod report;
pub mod sample;
pub mod search;
pub mod seizure;
pub mod storage;
pub mod tariff;
pub mod user;
pub mod validation;
pub mod web;
