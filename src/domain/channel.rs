//! The channels voters reach Maktab through.

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

impl Channel {
    /// The storage and configuration form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Telegram => "telegram",
        }
    }

    /// Whether replies on this channel can carry buttons (and so ask before subscribing).
    pub fn has_buttons(self) -> bool {
        matches!(self, Self::Telegram)
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
        match s.trim().to_ascii_lowercase().as_str() {
            "sms" => Ok(Self::Sms),
            "telegram" => Ok(Self::Telegram),
            _ => Err(UnknownChannel(s.to_owned())),
        }
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
    fn masks_all_but_the_last_two_characters() {
        assert_eq!(mask_sender("+213550123456"), "***********56");
        assert_eq!(mask_sender("123"), "***");
    }
}
