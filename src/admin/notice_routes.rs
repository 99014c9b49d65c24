//! `/api/v1/changes` and `/api/v1/campaigns`: reviewing change sets, approving or rejecting
//! them, broadcasting, and following campaigns.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Permission, Principal};
use super::changes;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::routes::ApiQuery;
use crate::domain::Role;
use crate::notices::prepare::Preview;
use crate::server::App;
use crate::store::{Audience, Campaign, ChangeSet, ChangeSetStatus, PlaceChange, VoterChange};

fn visible(principal: &Principal, communes: &[crate::domain::CommuneCode]) -> bool {
    principal.role == Role::National
        || (!communes.is_empty() && communes.iter().all(|c| principal.communes.contains(c)))
}

/// Filters of the change set list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangeListParams {
    /// pending, approved, rejected or superseded.
    pub status: Option<String>,
}

/// Change sets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeList {
    pub change_sets: Vec<ChangeSet>,
}

/// `GET /api/v1/changes`.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ChangeListParams),
    responses((status = 200, body = ChangeList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_changes(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ChangeListParams>,
) -> ApiResult<Json<ChangeList>> {
    principal.require(Permission::Monitor)?;
    let status = params
        .status
        .map(|s| s.parse::<ChangeSetStatus>().map_err(ApiError::BadRequest))
        .transpose()?;
    let change_sets = app
        .store
        .change_sets(status, 200)
        .await?
        .into_iter()
        .filter(|c| visible(&principal, &c.communes))
        .collect();
    Ok(Json(ChangeList { change_sets }))
}

/// One voter's change, with the NIN masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoterChangeView {
    pub nin: String,
    #[schema(value_type = String)]
    pub change: crate::store::VoterChangeKind,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<VoterChange> for VoterChangeView {
    fn from(change: VoterChange) -> Self {
        Self {
            nin: change.nin.masked(),
            change: change.change,
            from: change.old.map(|s| s.to_string()),
            to: change.new.map(|s| s.to_string()),
        }
    }
}

/// Paging of a change set's voters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangeDetailParams {
    /// Voters per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// A change set with its changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeDetail {
    pub change_set: ChangeSet,
    pub voters: Vec<VoterChangeView>,
    pub places: Vec<PlaceChange>,
}

/// `GET /api/v1/changes/{id}`.
#[utoipa::path(get, path = "/api/v1/changes/{id}", tag = "changes",
    params(("id" = i64, Path), ChangeDetailParams),
    responses((status = 200, body = ChangeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_change(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiQuery(params): ApiQuery<ChangeDetailParams>,
) -> ApiResult<Json<ChangeDetail>> {
    principal.require(Permission::Monitor)?;
    let change_set = app.store.change_set(id).await?.ok_or(ApiError::NotFound)?;
    if !visible(&principal, &change_set.communes) {
        return Err(ApiError::Forbidden(
            "this change set concerns other communes".to_owned(),
        ));
    }
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let voters = app
        .store
        .voter_changes(id, limit, params.offset.unwrap_or(0))
        .await?
        .into_iter()
        .map(VoterChangeView::from)
        .collect();
    let places = app.store.place_changes(id).await?;
    Ok(Json(ChangeDetail {
        change_set,
        voters,
        places,
    }))
}

/// The campaign an approval started.
#[derive(Debug, Serialize, ToSchema)]
pub struct Approval {
    pub campaign: i64,
    /// Notices queued for subscribers of the affected voters.
    pub notices: u64,
}

/// `POST /api/v1/changes/{id}/approve`.
#[utoipa::path(post, path = "/api/v1/changes/{id}/approve", tag = "changes", params(("id" = i64, Path)),
    responses((status = 200, body = Approval), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not pending, or superseded")),
    security(("bearer" = [])))]
pub async fn approve_change(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Approval>> {
    principal.require(Permission::Import)?;
    let (campaign, notices) = changes::approve(
        app.store.as_ref(),
        &app.catalog,
        &principal,
        id,
        app.settings.two_person_rule,
    )
    .await?;
    Ok(Json(Approval { campaign, notices }))
}

/// A decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    pub status: ChangeSetStatus,
}

/// `POST /api/v1/changes/{id}/reject`.
#[utoipa::path(post, path = "/api/v1/changes/{id}/reject", tag = "changes", params(("id" = i64, Path)),
    responses((status = 200, body = Decision), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject_change(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Decision>> {
    principal.require(Permission::Import)?;
    changes::reject(app.store.as_ref(), &principal, id).await?;
    Ok(Json(Decision {
        status: ChangeSetStatus::Rejected,
    }))
}

/// A broadcast to write.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewBroadcast {
    pub audience: Audience,
    pub text_ar: String,
    pub text_fr: String,
}

/// A draft broadcast and what it would cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastDraft {
    pub campaign: i64,
    pub preview: Preview,
}

/// `POST /api/v1/campaigns`: creates a broadcast in draft with its preview; confirm it to send.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = NewBroadcast,
    responses((status = 200, body = BroadcastDraft), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_broadcast(
    State(app): State<App>,
    principal: Principal,
    body: Result<Json<NewBroadcast>, JsonRejection>,
) -> ApiResult<Json<BroadcastDraft>> {
    principal.require(Permission::Broadcast)?;
    let Json(broadcast) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (campaign, preview) = changes::create_broadcast(
        app.store.as_ref(),
        &principal,
        &broadcast.audience,
        &broadcast.text_ar,
        &broadcast.text_fr,
    )
    .await?;
    Ok(Json(BroadcastDraft { campaign, preview }))
}

/// Campaigns, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<Campaign>,
}

/// `GET /api/v1/campaigns`.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = CampaignList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_campaigns(
    State(app): State<App>,
    principal: Principal,
) -> ApiResult<Json<CampaignList>> {
    principal.require(Permission::Monitor)?;
    let mut campaigns = Vec::new();
    for campaign in app.store.campaigns(None, 200).await? {
        if principal.role == Role::National
            || campaign_communes(&app, &campaign)
                .await?
                .iter()
                .all(|c| principal.communes.contains(c))
        {
            campaigns.push(campaign);
        }
    }
    Ok(Json(CampaignList { campaigns }))
}

async fn campaign_communes(
    app: &App,
    campaign: &Campaign,
) -> ApiResult<Vec<crate::domain::CommuneCode>> {
    if let Ok(audience) = serde_json::from_value::<Audience>(campaign.audience.clone()) {
        return Ok(vec![audience.commune]);
    }
    match campaign.change_set_id {
        Some(id) => Ok(app
            .store
            .change_set(id)
            .await?
            .map(|c| c.communes)
            .unwrap_or_default()),
        None => Ok(Vec::new()),
    }
}

/// A campaign and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDetail {
    pub campaign: Campaign,
    /// Outbox rows by status: pending, sending, sent, delivered, failed, skipped, cancelled.
    pub progress: BTreeMap<String, u64>,
}

/// `GET /api/v1/campaigns/{id}`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_campaign(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignDetail>> {
    principal.require(Permission::Monitor)?;
    let campaign = app.store.campaign(id).await?.ok_or(ApiError::NotFound)?;
    let communes = campaign_communes(&app, &campaign).await?;
    if principal.role != Role::National && !communes.iter().all(|c| principal.communes.contains(c))
    {
        return Err(ApiError::Forbidden(
            "this campaign concerns other communes".to_owned(),
        ));
    }
    let progress = app.store.campaign_progress(id).await?;
    Ok(Json(CampaignDetail { campaign, progress }))
}

/// The result of a campaign action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDone {
    pub campaign: i64,
    pub action: String,
    /// For `confirm`: the notices queued.
    pub notices: Option<u64>,
}

/// `POST /api/v1/campaigns/{id}/{action}`: `confirm` (a draft broadcast), `pause`, `resume`,
/// `cancel`.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/{action}", tag = "campaigns",
    params(("id" = i64, Path), ("action" = String, Path, description = "confirm, pause, resume or cancel")),
    responses((status = 200, body = ActionDone), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn campaign_action(
    State(app): State<App>,
    principal: Principal,
    Path((id, action)): Path<(i64, String)>,
) -> ApiResult<Json<ActionDone>> {
    principal.require(Permission::Broadcast)?;
    let notices = match action.as_str() {
        "confirm" => Some(changes::confirm_broadcast(app.store.as_ref(), &principal, id).await?),
        _ => {
            changes::control_campaign(app.store.as_ref(), &principal, id, &action).await?;
            None
        }
    };
    Ok(Json(ActionDone {
        campaign: id,
        action,
        notices,
    }))
}
