//! The messaging channels voters reach Maktab through. Each channel translates between its
//! provider's wire format and the conversation core's `Inbound` and `Reply` values, and owns
//! its webhook route, its authentication and its way of sending.

pub mod telegram;
