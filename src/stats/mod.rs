//! Adoption statistics: the caller's scope, the selection (industry, region, period, schema
//! version), grouped counts computed in the database, and suppression of small groups.
//!
//! Filter values reach SQL only after validation (GB/T 4754 codes are a letter and digits,
//! GB/T 2260 prefixes digits, dates and versions checked), which is what lets the grouped
//! queries be written as SQL text for both backends: the [`Selection`]'s fields are private and
//! only its constructors set them.

mod complaints;
pub mod disclosure;
mod export;
pub mod figures;
mod queries;
mod scores;
mod selection;
mod summary;
pub mod tables;

pub use complaints::*;
pub use disclosure::*;
pub use export::*;
pub use queries::*;
pub use scores::*;
pub use selection::*;
pub use summary::*;
pub use tables::Table;
