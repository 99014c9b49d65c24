//! The OpenAPI document of the admin API, generated from the handlers' annotations and served
//! at `GET /api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::auth::Principal;
use super::routes;

/// The admin API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Maktab admin API", description = "Imports, audit log and statistics for election offices. Every route needs `Authorization: Bearer <token>` (`maktab token create`)."),
    paths(
        routes::whoami,
        routes::list_imports,
        routes::import,
        routes::audit,
        routes::lookup_stats,
        routes::roll_stats,
        openapi_json,
        super::notice_routes::list_changes,
        super::notice_routes::show_change,
        super::notice_routes::approve_change,
        super::notice_routes::reject_change,
        super::notice_routes::create_broadcast,
        super::notice_routes::list_campaigns,
        super::notice_routes::show_campaign,
        super::notice_routes::campaign_action,
        super::reports::list_reports,
        super::reports::export_reports_route,
        super::reports::handled_route,
        super::reports::report_stats,
        super::reports::invite_route,
        super::reports::list_clerks,
        super::reports::revoke_route,
    ),
    components(schemas(Principal, super::error::ErrorBody)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`: this document (any valid token).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "admin",
    responses((status = 200, description = "the OpenAPI 3 document"), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn openapi_json(_principal: Principal) -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
