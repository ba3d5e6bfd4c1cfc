//! csr-assess: self-assessment, review and certification against the CCA guideline on good
//! enterprises protecting consumer interests.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod certification;
pub mod cli;
pub mod complaints;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod files;
pub mod hardening;
pub mod idempotency;
pub mod issuer;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod reports;
pub mod reviews;
pub mod routes;
pub mod schemas;
pub mod scope;
pub mod startup;
pub mod state;
pub mod stats;
pub mod submissions;
pub mod telemetry;
pub mod views;
pub mod webhooks;
pub mod workers;
