//! Pure domain types and rules: no actix, no diesel. Values are parsed at the boundary, so a
//! handler never holds an invalid one.

pub mod answers;
pub mod calendar;
pub mod canonical;
pub mod certificate;
pub mod complaint;
pub mod credit_code;
pub mod disclosure;
pub mod enterprise;
pub mod etag;
pub mod label;
pub mod laws;
pub mod review;
pub mod role;
pub mod schema;
pub mod scoring;
pub mod stats;
pub mod submission;
pub mod text;
pub mod upgrade;
pub mod user;
pub mod webhook;

pub use credit_code::CreditCode;
pub use enterprise::{IndustryCode, RegionCode, Size};
pub use review::{ReviewDecision, VerdictKind};
pub use role::Role;
pub use submission::SubmissionStatus;
pub use user::{Email, Password};
