//! Pure domain types and rules: no actix, no diesel. Values are parsed at the boundary, so a
//! handler never holds an invalid one.

pub mod answers;
pub mod canonical;
pub mod certificate;
pub mod credit_code;
pub mod disclosure;
pub mod enterprise;
pub mod laws;
pub mod role;
pub mod schema;
pub mod scoring;
pub mod stats;
pub mod text;
pub mod user;

pub use credit_code::CreditCode;
pub use enterprise::{IndustryCode, RegionCode, Size};
pub use role::Role;
pub use user::{Email, Password};
