#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

//! Black-box API tests: each test starts the real application on port 0 with a fresh database
//! and talks HTTP. Every test runs on SQLite, and again on PostgreSQL when
//! `CSR_TEST_POSTGRES_URL` is set (a new database per test, dropped afterwards).

#[macro_use]
mod helpers;
#[path = "../kit/mod.rs"]
mod kit;

mod access;
mod audit;
mod auth;
mod bad_input;
mod browser;
mod cli;
mod commits;
mod complaints;
mod console;
mod enterprises;
mod idempotency;
mod migrations;
mod operations;
mod processes;
mod readme;
mod reports;
mod reviews;
mod schemas;
mod security;
mod stats;
mod submissions;
mod users;
mod webhooks;
