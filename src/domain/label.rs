//! Labels shown to people, in the two languages the service speaks.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Text in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}
