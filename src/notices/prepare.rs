//! Filling campaigns: the personalised change notices of an approved change set, and
//! broadcasts to an audience with a preview of their cost.

use std::collections::BTreeMap;

use fluent_bundle::FluentArgs;
use serde::Serialize;

use crate::domain::{Channel, Locale, StationKind};
use crate::i18n::sms::count_segments;
use crate::i18n::{Catalog, MessageId};
use crate::store::{Audience, Campaign, CampaignStatus, NewNotice, Store, StoreError};

/// Writes the outbox rows of a change campaign (one per subscriber and affected voter, in the
/// subscriber's language, with the new centre, address and station) and starts sending.
/// Safe to repeat: a campaign left in `preparing` by a crash is filled again from scratch.
pub async fn prepare_change_campaign(
    store: &dyn Store,
    catalog: &Catalog,
    campaign: &Campaign,
) -> Result<u64, StoreError> {
    let Some(change_set) = campaign.change_set_id else {
        return Ok(0);
    };
    let recipients = store.change_recipients(change_set).await?;
    let notices: Vec<NewNotice> = recipients
        .iter()
        .map(|r| {
            let mut args = FluentArgs::new();
            args.set("centre", r.place.centre.name.get(r.locale).to_owned());
            args.set("address", r.place.centre.address.get(r.locale).to_owned());
            args.set("station", r.place.station.get());
            args.set(
                "kind",
                match r.place.kind {
                    StationKind::Women => "women",
                    StationKind::Mixed => "mixed",
                },
            );
            NewNotice {
                channel: r.channel,
                recipient: r.recipient.clone(),
                locale: r.locale,
                body: catalog.render(r.locale, MessageId::NoticeStationChanged, &args),
            }
        })
        .collect();
    store
        .fill_campaign(
            campaign.id,
            &notices,
            CampaignStatus::Sending,
            crate::domain::now(),
        )
        .await
}

/// Prepares every change campaign still in `preparing` (after a crash, or just approved).
pub async fn prepare_pending_campaigns(
    store: &dyn Store,
    catalog: &Catalog,
) -> Result<u64, StoreError> {
    let mut written = 0;
    for campaign in store
        .campaigns(Some(CampaignStatus::Preparing), 100)
        .await?
    {
        written += prepare_change_campaign(store, catalog, &campaign).await?;
    }
    Ok(written)
}

/// What a broadcast would cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// Recipients per channel.
    pub recipients: BTreeMap<String, u64>,
    /// SMS segments for the whole broadcast (each recipient in their language).
    pub sms_segments: u64,
}

/// The notices of a broadcast: each recipient gets the text of their language.
pub async fn broadcast_notices(
    store: &dyn Store,
    audience: &Audience,
    text_ar: &str,
    text_fr: &str,
) -> Result<(Vec<NewNotice>, Preview), StoreError> {
    let members = store.audience_members(audience).await?;
    let mut preview = Preview::default();
    let notices: Vec<NewNotice> = members
        .into_iter()
        .map(|member| {
            let body = match member.locale {
                Locale::Ar => text_ar,
                Locale::Fr => text_fr,
            }
            .to_owned();
            *preview
                .recipients
                .entry(member.channel.as_str().to_owned())
                .or_insert(0) += 1;
            if member.channel == Channel::Sms {
                preview.sms_segments += count_segments(&body).segments as u64;
            }
            NewNotice {
                channel: member.channel,
                recipient: member.recipient,
                locale: member.locale,
                body,
            }
        })
        .collect();
    Ok((notices, preview))
}
