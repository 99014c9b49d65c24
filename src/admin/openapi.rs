//! The OpenAPI document of the admin API, generated from the handlers' annotations and served
//! at `GET /api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{audit, auth, campaigns, changes, clerks, imports, reports, stats, tickets};
use crate::office::Principal;

/// The admin API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Maktab admin API", description = include_str!("openapi.md")),
    paths(
        auth::whoami,
        imports::list_imports,
        imports::import,
        imports::import_errors,
        audit::audit,
        audit::verify_audit,
        stats::lookup_stats,
        stats::roll_stats,
        openapi_json,
        changes::list_changes,
        changes::show_change,
        changes::approve_change,
        changes::reject_change,
        campaigns::create_broadcast,
        campaigns::list_campaigns,
        campaigns::show_campaign,
        campaigns::campaign_action,
        reports::list_reports,
        reports::export_reports,
        reports::mark_handled,
        reports::report_stats,
        clerks::invite_clerk,
        clerks::list_clerks,
        clerks::revoke_clerk,
        tickets::list_tickets,
        tickets::show_ticket,
        tickets::take_ticket,
        tickets::reply_ticket,
        tickets::note_ticket,
        tickets::close_ticket,
        tickets::list_shifts,
        tickets::add_shift,
        tickets::remove_shift,
        tickets::on_duty,
        tickets::duty_stats,
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
