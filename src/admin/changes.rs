//! Reviewing change sets and running campaigns on behalf of a principal: scope checks, the
//! optional two-person rule, audit entries, and filling the outbox.

use serde_json::json;

use super::auth::Principal;
use super::error::ApiError;
use crate::domain::{CommuneCode, Role};
use crate::i18n::Catalog;
use crate::notices::prepare::{self, Preview};
use crate::store::{Audience, CampaignStatus, ChangeSet, Store, StoreError};

/// Refuses a change set or audience outside the principal's communes.
fn check_scope(principal: &Principal, communes: &[CommuneCode]) -> Result<(), ApiError> {
    if principal.role == Role::National {
        return Ok(());
    }
    match communes.iter().find(|c| !principal.communes.contains(c)) {
        Some(outside) => Err(ApiError::Forbidden(format!(
            "this token does not cover commune {outside}"
        ))),
        None if communes.is_empty() => Err(ApiError::Forbidden(
            "a national change set needs a national token".to_owned(),
        )),
        None => Ok(()),
    }
}

async fn pending(store: &dyn Store, principal: &Principal, id: i64) -> Result<ChangeSet, ApiError> {
    let change_set = store.change_set(id).await?.ok_or(ApiError::NotFound)?;
    check_scope(principal, &change_set.communes)?;
    Ok(change_set)
}

fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotPending(_) | StoreError::Superseded(_) => {
            ApiError::Conflict(error.to_string())
        }
        other => other.into(),
    }
}

/// Approves a change set: the new version becomes current and the change notices are
/// prepared. With the two-person rule, the approver must not be the importer. Returns the
/// campaign id and how many notices it holds.
pub async fn approve(
    store: &dyn Store,
    catalog: &Catalog,
    principal: &Principal,
    id: i64,
    two_person_rule: bool,
) -> Result<(i64, u64), ApiError> {
    let change_set = pending(store, principal, id).await?;
    if two_person_rule && change_set.created_by == principal.name {
        return Err(ApiError::Forbidden(
            "the two-person rule is on: the change set must be approved by someone other than its importer".to_owned(),
        ));
    }
    let audit = principal.audit(
        &format!("changes.{}.approve", change_set.kind.as_str()),
        change_set.communes.clone(),
        json!({ "change_set": id, "new_version": change_set.new_version, "summary": change_set.summary }),
    );
    let campaign_id = store
        .approve_change_set(id, &principal.name, crate::domain::now(), audit)
        .await
        .map_err(store_error)?;
    let campaign = store
        .campaign(campaign_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let notices = prepare::prepare_change_campaign(store, catalog, &campaign).await?;
    Ok((campaign_id, notices))
}

/// Rejects a change set: its version is discarded.
pub async fn reject(store: &dyn Store, principal: &Principal, id: i64) -> Result<(), ApiError> {
    let change_set = pending(store, principal, id).await?;
    let audit = principal.audit(
        &format!("changes.{}.reject", change_set.kind.as_str()),
        change_set.communes.clone(),
        json!({ "change_set": id, "new_version": change_set.new_version }),
    );
    store
        .reject_change_set(id, &principal.name, crate::domain::now(), audit)
        .await
        .map_err(store_error)
}

/// Creates a broadcast in draft and returns it with its preview. Nothing is sent until it is
/// confirmed.
pub async fn create_broadcast(
    store: &dyn Store,
    principal: &Principal,
    audience: &Audience,
    text_ar: &str,
    text_fr: &str,
) -> Result<(i64, Preview), ApiError> {
    check_scope(principal, std::slice::from_ref(&audience.commune))?;
    if audience.reporters && (audience.centre.is_some() || audience.station.is_some()) {
        return Err(ApiError::BadRequest(
            "reporters are reached by commune: no centre or station".to_owned(),
        ));
    }
    if audience.station.is_some() && audience.centre.is_none() {
        return Err(ApiError::BadRequest(
            "a station needs its centre".to_owned(),
        ));
    }
    for (language, text) in [("text_ar", text_ar), ("text_fr", text_fr)] {
        let length = text.trim().chars().count();
        if length == 0 || length > 600 {
            return Err(ApiError::BadRequest(format!(
                "{language} must be 1 to 600 characters"
            )));
        }
    }
    let (_, preview) = prepare::broadcast_notices(store, audience, text_ar, text_fr).await?;
    let audit = principal.audit(
        "broadcast.create",
        vec![audience.commune.clone()],
        json!({ "audience": audience, "preview": preview }),
    );
    let id = store
        .create_broadcast(
            audience,
            text_ar.trim(),
            text_fr.trim(),
            &principal.name,
            crate::domain::now(),
            audit,
        )
        .await?;
    Ok((id, preview))
}

/// Confirms a draft broadcast: its outbox is filled (from the audience as it is now) and it
/// starts sending.
pub async fn confirm_broadcast(
    store: &dyn Store,
    principal: &Principal,
    id: i64,
) -> Result<u64, ApiError> {
    let campaign = store.campaign(id).await?.ok_or(ApiError::NotFound)?;
    let audience: Audience = serde_json::from_value(campaign.audience.clone())
        .map_err(|_| ApiError::Conflict("only a broadcast can be confirmed".to_owned()))?;
    check_scope(principal, std::slice::from_ref(&audience.commune))?;
    if campaign.status != CampaignStatus::Draft {
        return Err(ApiError::Conflict(format!(
            "campaign {id} is {}, not draft",
            campaign.status
        )));
    }
    let (notices, preview) = prepare::broadcast_notices(
        store,
        &audience,
        campaign.text_ar.as_deref().unwrap_or_default(),
        campaign.text_fr.as_deref().unwrap_or_default(),
    )
    .await?;
    let written = store
        .fill_campaign(id, &notices, CampaignStatus::Draft, crate::domain::now())
        .await?;
    let audit = principal.audit(
        "broadcast.confirm",
        vec![audience.commune.clone()],
        json!({ "campaign": id, "recipients": written, "preview": preview }),
    );
    if !store
        .set_campaign_status(
            id,
            &[CampaignStatus::Draft],
            CampaignStatus::Sending,
            Some(audit),
        )
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "campaign {id} is no longer a draft"
        )));
    }
    Ok(written)
}

/// Pauses, resumes or cancels a campaign.
pub async fn control_campaign(
    store: &dyn Store,
    principal: &Principal,
    id: i64,
    action: &str,
) -> Result<(), ApiError> {
    let campaign = store.campaign(id).await?.ok_or(ApiError::NotFound)?;
    let communes: Vec<CommuneCode> = match (
        &campaign.change_set_id,
        serde_json::from_value::<Audience>(campaign.audience.clone()),
    ) {
        (_, Ok(audience)) => vec![audience.commune],
        (Some(change_set), _) => store
            .change_set(*change_set)
            .await?
            .map(|c| c.communes)
            .unwrap_or_default(),
        (None, Err(_)) => Vec::new(),
    };
    check_scope(principal, &communes)?;
    let (from, to): (&[CampaignStatus], CampaignStatus) = match action {
        "pause" => (&[CampaignStatus::Sending], CampaignStatus::Paused),
        "resume" => (&[CampaignStatus::Paused], CampaignStatus::Sending),
        "cancel" => (
            &[
                CampaignStatus::Draft,
                CampaignStatus::Sending,
                CampaignStatus::Paused,
            ],
            CampaignStatus::Cancelled,
        ),
        _ => return Err(ApiError::NotFound),
    };
    let audit = principal.audit(
        &format!("campaign.{action}"),
        communes,
        json!({ "campaign": id }),
    );
    if store.set_campaign_status(id, from, to, Some(audit)).await? {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "campaign {id} is {}: cannot {action}",
            campaign.status
        )))
    }
}
