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

/// Every operation may also answer with a problem (401 without a token, 403 for a role the
/// operation does not admit, 413, 415, 429, 503 and the rest): a `default` response documents
/// that, so clients and conformance checks know the shape of every error. Applied once the
/// routes have added their paths.
pub struct ProblemDefault;

impl Modify for ProblemDefault {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = ResponseBuilder::new()
            .description("An error, as RFC 9457 problem details")
            .content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        allow_flattened_fields(openapi);
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| problem.clone().into());
            }
        }
    }
}

/// A struct flattened into another (`#[serde(flatten)]`) appears as an `allOf` member; if it
/// denies unknown fields, its `additionalProperties: false` would reject the other members'
/// fields, which the response carries by design. Inside `allOf` the constraint is dropped.
fn allow_flattened_fields(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Schema};
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    for schema in components.schemas.values_mut() {
        if let RefOr::T(Schema::AllOf(all)) = schema {
            for member in &mut all.items {
                if let RefOr::T(Schema::Object(object)) = member {
                    object.additional_properties = None;
                }
            }
        }
    }
}
