//! The test kit shared by the API tests (`tests/api`) and the load benchmark (`benches/load`):
//! a fresh database on either backend, the service as a real process, and an HTTP client.
//!
//! Both include this folder as a module (`#[path = ".../tests/kit/mod.rs"] mod kit;`); it is
//! not a test target of its own. Each user needs only part of it.
#![allow(dead_code)]

pub mod database;
pub mod http;
pub mod process;
