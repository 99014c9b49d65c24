//! Notice campaigns: broadcasts written, previewed and confirmed; campaigns listed, followed,
//! paused, resumed and cancelled. A campaign concerns the commune of its audience (a
//! broadcast) or the communes of its change set (change notices).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::domain::CommuneCode;
use crate::notices::prepare::{self, Preview};
use crate::store::{Audience, Campaign, CampaignStatus};

/// The longest text of a broadcast, in characters.
const MAX_BROADCAST_CHARS: usize = 600;

/// Campaigns, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<Campaign>,
}

/// A campaign and its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDetail {
    pub campaign: Campaign,
    /// Outbox rows by status: pending, sending, sent, delivered, failed, skipped, cancelled.
    pub progress: BTreeMap<String, u64>,
}

/// A draft broadcast and what it would cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastDraft {
    pub campaign: i64,
    pub preview: Preview,
}

/// What can be done to a running campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
}

impl Control {
    /// `pause`, `resume` or `cancel`.
    pub fn parse(action: &str) -> Option<Self> {
        match action {
            "pause" => Some(Self::Pause),
            "resume" => Some(Self::Resume),
            "cancel" => Some(Self::Cancel),
            _ => None,
        }
    }

    /// The action's name, as in routes, commands and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Cancel => "cancel",
        }
    }

    /// The statuses it applies to, and the status it leads to.
    fn transition(self) -> (&'static [CampaignStatus], CampaignStatus) {
        match self {
            Self::Pause => (&[CampaignStatus::Sending], CampaignStatus::Paused),
            Self::Resume => (&[CampaignStatus::Paused], CampaignStatus::Sending),
            Self::Cancel => (
                &[
                    CampaignStatus::Draft,
                    CampaignStatus::Sending,
                    CampaignStatus::Paused,
                ],
                CampaignStatus::Cancelled,
            ),
        }
    }
}

fn what(id: i64) -> String {
    format!("campaign {id}")
}

impl Office {
    /// The communes a campaign concerns.
    async fn campaign_communes(&self, campaign: &Campaign) -> OfficeResult<Vec<CommuneCode>> {
        if let Ok(audience) = serde_json::from_value::<Audience>(campaign.audience.clone()) {
            return Ok(vec![audience.commune]);
        }
        match campaign.change_set_id {
            Some(id) => Ok(self
                .store
                .change_set(id)
                .await?
                .map(|c| c.communes)
                .unwrap_or_default()),
            None => Ok(Vec::new()),
        }
    }

    /// A campaign the principal may see, with its communes.
    async fn visible_campaign(
        &self,
        principal: &Principal,
        id: i64,
    ) -> OfficeResult<(Campaign, Vec<CommuneCode>)> {
        let campaign = self
            .store
            .campaign(id)
            .await?
            .ok_or_else(|| OfficeError::NotFound(format!("no campaign {id}")))?;
        let communes = self.campaign_communes(&campaign).await?;
        principal.require_cover(&communes, &what(id))?;
        Ok((campaign, communes))
    }

    /// Campaigns the principal may see, newest first, among the `limit` newest.
    pub async fn campaigns(&self, principal: &Principal, limit: u32) -> OfficeResult<CampaignList> {
        principal.require(Permission::Monitor)?;
        let mut campaigns = Vec::new();
        for campaign in self.store.campaigns(None, limit).await? {
            if principal.is_national()
                || principal.covers(&self.campaign_communes(&campaign).await?)
            {
                campaigns.push(campaign);
            }
        }
        Ok(CampaignList { campaigns })
    }

    /// A campaign and its progress.
    pub async fn campaign(&self, principal: &Principal, id: i64) -> OfficeResult<CampaignDetail> {
        principal.require(Permission::Monitor)?;
        let (campaign, _) = self.visible_campaign(principal, id).await?;
        let progress = self.store.campaign_progress(id).await?;
        Ok(CampaignDetail { campaign, progress })
    }

    /// Creates a broadcast in draft and returns it with its preview. Nothing is sent until it
    /// is confirmed.
    pub async fn create_broadcast(
        &self,
        principal: &Principal,
        audience: &Audience,
        text_ar: &str,
        text_fr: &str,
    ) -> OfficeResult<BroadcastDraft> {
        principal.require(Permission::Broadcast)?;
        // The caller named the commune: the refusal may name it back.
        principal.scope(Some(&audience.commune))?;
        self.require_mapped_commune(&audience.commune).await?;
        if audience.reporters && (audience.centre.is_some() || audience.station.is_some()) {
            return Err(OfficeError::Rejected(
                "reporters are reached by commune: no centre or station".to_owned(),
            ));
        }
        if audience.station.is_some() && audience.centre.is_none() {
            return Err(OfficeError::Rejected(
                "a station needs its centre".to_owned(),
            ));
        }
        for (language, text) in [("text_ar", text_ar), ("text_fr", text_fr)] {
            let length = text.trim().chars().count();
            if length == 0 || length > MAX_BROADCAST_CHARS {
                return Err(OfficeError::Rejected(format!(
                    "{language} must be 1 to {MAX_BROADCAST_CHARS} characters"
                )));
            }
        }
        let (_, preview) =
            prepare::broadcast_notices(self.store.as_ref(), audience, text_ar, text_fr).await?;
        let audit = principal.audit(
            "broadcast.create",
            vec![audience.commune.clone()],
            json!({ "audience": audience, "preview": preview }),
        );
        let campaign = self
            .store
            .create_broadcast(
                audience,
                text_ar.trim(),
                text_fr.trim(),
                &principal.actor(),
                crate::domain::now(),
                audit,
            )
            .await?;
        Ok(BroadcastDraft { campaign, preview })
    }

    /// Confirms a draft broadcast: its outbox is filled (from the audience as it is now) and
    /// it starts sending. Returns the notices queued.
    pub async fn confirm_broadcast(&self, principal: &Principal, id: i64) -> OfficeResult<u64> {
        principal.require(Permission::Broadcast)?;
        let (campaign, _) = self.visible_campaign(principal, id).await?;
        let audience: Audience = serde_json::from_value(campaign.audience.clone())
            .map_err(|_| OfficeError::Conflict("only a broadcast can be confirmed".to_owned()))?;
        if campaign.status != CampaignStatus::Draft {
            return Err(OfficeError::Conflict(format!(
                "campaign {id} is {}, not draft",
                campaign.status
            )));
        }
        let (notices, preview) = prepare::broadcast_notices(
            self.store.as_ref(),
            &audience,
            campaign.text_ar.as_deref().unwrap_or_default(),
            campaign.text_fr.as_deref().unwrap_or_default(),
        )
        .await?;
        let written = self
            .store
            .fill_campaign(id, &notices, CampaignStatus::Draft, crate::domain::now())
            .await?;
        let audit = principal.audit(
            "broadcast.confirm",
            vec![audience.commune.clone()],
            json!({ "campaign": id, "recipients": written, "preview": preview }),
        );
        if !self
            .store
            .set_campaign_status(
                id,
                &[CampaignStatus::Draft],
                CampaignStatus::Sending,
                Some(audit),
            )
            .await?
        {
            return Err(OfficeError::Conflict(format!(
                "campaign {id} is no longer a draft"
            )));
        }
        Ok(written)
    }

    /// Pauses, resumes or cancels a campaign.
    pub async fn control_campaign(
        &self,
        principal: &Principal,
        id: i64,
        control: Control,
    ) -> OfficeResult<()> {
        principal.require(Permission::Broadcast)?;
        let (campaign, communes) = self.visible_campaign(principal, id).await?;
        let (from, to) = control.transition();
        let action = control.as_str();
        let audit = principal.audit(
            &format!("campaign.{action}"),
            communes,
            json!({ "campaign": id }),
        );
        if self
            .store
            .set_campaign_status(id, from, to, Some(audit))
            .await?
        {
            Ok(())
        } else {
            Err(OfficeError::Conflict(format!(
                "campaign {id} is {}: cannot {action}",
                campaign.status
            )))
        }
    }
}
