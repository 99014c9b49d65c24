//! The channels voters reach Maktab through, and what each can do. The core asks a channel's
//! [`Capabilities`] rather than naming it, so a new channel is one variant, one row of
//! [`Channel::capabilities`] and its folder under `src/channels` (see that module's
//! checklist).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A messaging channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Telegram,
}

/// What a channel can do, which the conversation core and the outbox ask instead of
/// matching channels by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// A sender that found a voter hears of changes to that voter's station without being
    /// asked (a phone number is an address); otherwise the channel offers a button.
    pub subscribes_on_lookup: bool,
    /// Field clerks enrol and file reports here (it needs an account the clerk keeps).
    pub hosts_clerks: bool,
    /// Messages are billed and throttled in SMS segments.
    pub counts_segments: bool,
    /// Replies can carry buttons.
    pub buttons: bool,
    /// A reply can show the centre as a map pin.
    pub venues: bool,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 2] = [Channel::Sms, Channel::Telegram];

    /// The storage and configuration form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Telegram => "telegram",
        }
    }

    /// What the channel can do: the one place that says it.
    pub fn capabilities(self) -> Capabilities {
        match self {
            Self::Sms => Capabilities {
                subscribes_on_lookup: true,
                hosts_clerks: false,
                counts_segments: true,
                buttons: false,
                venues: false,
            },
            Self::Telegram => Capabilities {
                subscribes_on_lookup: false,
                hosts_clerks: true,
                counts_segments: false,
                buttons: true,
                venues: true,
            },
        }
    }

    /// Whether replies on this channel can carry buttons (and so ask before subscribing).
    pub fn has_buttons(self) -> bool {
        self.capabilities().buttons
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a channel name.
#[derive(Debug, thiserror::Error)]
#[error("unknown channel {0:?}: expected sms or telegram")]
pub struct UnknownChannel(String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|channel| channel.as_str() == name)
            .ok_or_else(|| UnknownChannel(s.to_owned()))
    }
}

/// A sender id for logs: enough to tell senders apart, not enough to contact them.
pub fn mask_sender(sender: &str) -> String {
    let chars: Vec<char> = sender.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{}{tail}", "*".repeat(chars.len() - 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_reads_back_from_its_name() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>().unwrap(), channel);
        }
        assert!("whatsapp".parse::<Channel>().is_err());
    }

    #[test]
    fn a_phone_number_subscribes_and_counts_segments_a_chat_offers_buttons() {
        let sms = Channel::Sms.capabilities();
        let telegram = Channel::Telegram.capabilities();
        assert!(sms.subscribes_on_lookup && sms.counts_segments && !sms.buttons);
        assert!(telegram.hosts_clerks && telegram.buttons && !telegram.subscribes_on_lookup);
    }

    #[test]
    fn masks_all_but_the_last_two_characters() {
        assert_eq!(mask_sender("+213550123456"), "***********56");
        assert_eq!(mask_sender("123"), "***");
    }
}
