//! The OpenAPI document: general information and the bearer security scheme; paths and schemas
//! are collected from the registered handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "csr-assess",
        description = "Self-assessment, review and certification against the CCA guideline on \
                       good enterprises protecting consumer interests (《良好企业保护消费者利益社会责任导则》). \
                       Errors are RFC 9457 `application/problem+json` with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError, crate::domain::Role)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Login, tokens and passwords"),
        (name = "enterprises", description = "Enterprise registration and members"),
        (name = "users", description = "Accounts"),
        (name = "schemas", description = "Assessment schemas: versions, industry profiles, differences"),
        (name = "submissions", description = "Self-assessments: answers, completeness, scores, submission"),
        (name = "evidence", description = "Evidence files attached to criteria"),
        (name = "reviews", description = "The association's review of submissions"),
        (name = "certificates", description = "Certificate status changes"),
        (name = "stats", description = "Adoption statistics, with small groups suppressed"),
        (name = "audit", description = "Integrity of the audit log"),
        (name = "public", description = "No login: verification of certificates and keys"),
        (name = "reference", description = "GB/T 4754 industries and GB/T 2260 regions"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
