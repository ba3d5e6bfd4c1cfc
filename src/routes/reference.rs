//! Reference data used to fill in a registration: GB/T 4754 industries and GB/T 2260 provinces.

use actix_web::{HttpResponse, get};

use crate::domain::enterprise::{Named, Section, industry_sections, provinces};

/// GB/T 4754-2017 sections and divisions. No login needed. A fixed catalogue (20 sections),
/// served whole rather than paged, and cacheable for a day.
#[utoipa::path(operation_id = "listIndustries", security(()), tag = "reference", responses((status = 200, body = Vec<Section>)))]
#[get("/industries")]
pub async fn industries() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .json(industry_sections())
}

/// GB/T 2260 provinces (the first two digits of a region code). No login needed. A fixed
/// catalogue (34 entries), served whole rather than paged, and cacheable for a day.
#[utoipa::path(operation_id = "listRegions", security(()), tag = "reference", responses((status = 200, body = Vec<Named>)))]
#[get("/regions")]
pub async fn regions() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .json(provinces())
}
