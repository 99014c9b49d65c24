//! Filling campaigns: the personalised notices of an approved change set (a new place for
//! subscribers of moved voters, "you are registered" for reporters of citizens the roll now
//! holds), and broadcasts to an audience with a preview of their cost.

use std::collections::BTreeMap;

use fluent_bundle::FluentArgs;
use serde::Serialize;

use crate::domain::{Locale, PollingPlace, StationKind};
use crate::i18n::sms::count_segments;
use crate::i18n::{Catalog, MessageId};
use crate::store::{
    Audience, AudienceMember, Campaign, CampaignStatus, NewNotice, Store, StoreError,
};

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
    let mut notices: Vec<NewNotice> = recipients
        .iter()
        .map(|r| NewNotice {
            channel: r.channel,
            recipient: r.recipient.clone(),
            locale: r.locale,
            body: catalog.render(
                r.locale,
                MessageId::NoticeStationChanged,
                &place_args(&r.place, r.locale),
            ),
        })
        .collect();
    // Voters the change set removed: their subscribers hear that the voter is no longer on
    // the commune's roll, and whom to ask.
    for removed in store.removed_recipients(change_set).await? {
        let mut args = FluentArgs::new();
        args.set("nin", removed.nin.masked());
        args.set(
            "commune",
            removed.commune.name.get(removed.locale).to_owned(),
        );
        notices.push(NewNotice {
            body: catalog.render(removed.locale, MessageId::NoticeRemoved, &args),
            channel: removed.channel,
            recipient: removed.recipient,
            locale: removed.locale,
        });
    }
    // Reports this approval resolved: their reporters hear that the citizen is registered,
    // with the place the voter now has.
    for reporter in store.registered_reporters(change_set).await? {
        let Some(voter) = store.find_voter(&reporter.nin).await? else {
            continue;
        };
        let contact = reporter.contact;
        notices.push(NewNotice {
            body: catalog.render(
                contact.locale,
                MessageId::NoticeRegistered,
                &place_args(&voter.place, contact.locale),
            ),
            channel: contact.channel,
            recipient: contact.recipient,
            locale: contact.locale,
        });
    }
    store
        .fill_campaign(
            campaign.id,
            &notices,
            CampaignStatus::Sending,
            crate::domain::now(),
        )
        .await
}

/// The arguments of a message that tells a polling place.
fn place_args(place: &PollingPlace, locale: Locale) -> FluentArgs<'static> {
    let mut args = FluentArgs::new();
    args.set("centre", place.centre.name.get(locale).to_owned());
    args.set("address", place.centre.address.get(locale).to_owned());
    args.set("station", place.station.get());
    args.set(
        "kind",
        match place.kind {
            StationKind::Women => "women",
            StationKind::Mixed => "mixed",
        },
    );
    args
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
    let members = if audience.reporters {
        store
            .open_reporters(&audience.commune)
            .await?
            .into_iter()
            .map(|contact| AudienceMember {
                channel: contact.channel,
                recipient: contact.recipient,
                locale: contact.locale,
            })
            .collect()
    } else {
        store.audience_members(audience).await?
    };
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
            if member.channel.capabilities().counts_segments {
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
