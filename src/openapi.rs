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
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "This server")),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::domain::Role,
        crate::stats::GroupBy,
        crate::routes::stats::Format,
    )),
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
        (name = "webhooks", description = "Events pushed to your endpoints, signed as Standard Webhooks prescribe"),
        (name = "complaints", description = "Complaint reconciliation (协商和解): complaints forwarded to enterprises with deadlines in working days, liaison units, group-complaint incidents and measures"),
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
        reference_page_items(openapi);
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
                for (status, response) in &mut op.responses.responses {
                    if let utoipa::openapi::RefOr::T(response) = response {
                        describe(status, response);
                    }
                }
                for parameter in op.parameters.iter_mut().flatten() {
                    if let utoipa::openapi::RefOr::T(parameter) = parameter {
                        constrain_header(parameter);
                    }
                }
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

/// utoipa copies a generic page's item schema into `Page_{Item}`; a client generator then
/// emits a second, anonymous type for every list. The items refer to the named schema instead.
fn reference_page_items(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    use utoipa::openapi::{Ref, RefOr};
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in &mut components.schemas {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        let RefOr::T(Schema::Object(page)) = schema else {
            continue;
        };
        if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
            items.items = ArrayItems::RefOrSchema(Box::new(Ref::from_schema_name(item).into()));
        }
    }
}

/// The form of `If-Match` and `Idempotency-Key` values as the service reads them (RFC 9110
/// entity tags; 1–255 printable ASCII characters), so that a client — or a fuzzer — knows a
/// value outside it is refused (400, 422) rather than read.
fn constrain_header(parameter: &mut utoipa::openapi::path::Parameter) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{RefOr, Schema};
    if parameter.parameter_in != ParameterIn::Header {
        return;
    }
    let schema = match parameter.name.as_str() {
        "If-Match" => ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(IF_MATCH_PATTERN))
            .examples(["\"12-3\""]),
        "Idempotency-Key" => {
            parameter.description = Some(
                "Makes a retry safe: 1–255 printable ASCII characters, unique per request (a \
                 UUID). A retry with the same key and request is answered with the first \
                 response (`Idempotent-Replayed: true`) and changes nothing; the same key with \
                 another request is 422. Keys are kept for `CSR_IDEMPOTENCY_KEEP_HOURS` \
                 (default 24)."
                    .into(),
            );
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$"))
        }
        _ => return,
    };
    parameter.schema = Some(RefOr::T(Schema::Object(schema.build())));
}

/// `*`, or a comma-separated list of strong or weak entity tags.
pub const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$"#;

/// What a status means in this API, for responses whose operation says nothing more.
fn status_description(status: &str) -> &'static str {
    match status {
        "200" => "Success",
        "201" => "Created; `Location` names the new resource",
        "202" => "Accepted; the work continues in the background",
        "204" => "Done; no content",
        "302" | "303" | "307" | "308" => "Redirect; `Location` names the target",
        "304" => "Not modified since the given validator",
        "400" => "Malformed request: a header, parameter or body that cannot be read",
        "401" => "No valid access token",
        "403" => "Your role may not do this",
        "404" => "Not found, or not visible to you",
        "409" => "Conflicts with the resource's current state",
        "410" => "Gone",
        "412" => "`If-Match` does not match the current ETag: read the resource again",
        "413" => "The body is larger than allowed",
        "415" => "The body's media type is not accepted here",
        "422" => "Validation failed; `errors` names each field",
        "428" => "`If-Match` is required",
        "429" => "Too many attempts; `Retry-After` says when to try again",
        "500" => "An error in the service, logged with the request id",
        "503" => "Temporarily unavailable; `Retry-After` says when to try again",
        _ => "A response as described by its content",
    }
}

/// Fills in a response's description from its status where the operation gave none, and
/// declares binary bodies as strings of bytes with their media type (a client generator then
/// hands over the bytes instead of decoding an array of integers).
fn describe(status: &str, response: &mut utoipa::openapi::Response) {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{RefOr, Schema};
    if response.description.trim().is_empty() {
        response.description = status_description(status).to_owned();
    }
    for (media_type, content) in &mut response.content {
        let RefOr::T(content) = content else {
            continue;
        };
        if is_binary(media_type) {
            content.schema = Some(RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                    .content_media_type(media_type.clone())
                    .build(),
            )));
        }
    }
}

/// Media types whose bodies are bytes, not text a JSON schema describes.
pub fn is_binary(media_type: &str) -> bool {
    media_type == "application/pdf"
        || media_type == "application/octet-stream"
        || media_type.starts_with("application/vnd.openxmlformats")
        || (media_type.starts_with("image/") && media_type != "image/svg+xml")
}
