//! Lookup statistics for monitoring. The conversation core records each lookup's outcome in
//! memory (a mutex-guarded map increment, no database write on the lookup path); a background
//! task flushes the counts to the database every few seconds, adding to what other instances
//! wrote. Cumulative totals also feed the Prometheus metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::LookupOutcome;
use crate::domain::{Channel, CommuneCode, Timestamp};
use crate::store::{LookupCount, Store, StoreError};

type PendingKey = (Timestamp, Channel, String, LookupOutcome);

#[derive(Default)]
struct Counts {
    /// Not yet written to the database.
    pending: HashMap<PendingKey, u64>,
    /// Since start-up, for `/metrics`.
    totals: BTreeMap<(&'static str, &'static str), u64>,
}

/// Counts lookups in memory until the next flush.
#[derive(Default)]
pub struct LookupRecorder {
    counts: Mutex<Counts>,
}

impl LookupRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one lookup. `commune` is the matched voter's commune, if any.
    pub fn record(
        &self,
        channel: Channel,
        commune: Option<&CommuneCode>,
        outcome: LookupOutcome,
        now: Timestamp,
    ) {
        let hour = now - now.rem_euclid(3600);
        let commune = commune.map(|c| c.as_str().to_owned()).unwrap_or_default();
        // A poisoned lock only means another thread panicked mid-increment; counts stay usable.
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts
            .pending
            .entry((hour, channel, commune, outcome))
            .or_insert(0) += 1;
        *counts
            .totals
            .entry((channel.as_str(), outcome.as_str()))
            .or_insert(0) += 1;
    }

    /// Writes the pending counts. On failure they are kept for the next flush.
    pub async fn flush(&self, store: &dyn Store) -> Result<usize, StoreError> {
        let pending = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut counts.pending)
        };
        if pending.is_empty() {
            return Ok(0);
        }
        let rows: Vec<LookupCount> = pending
            .iter()
            .map(|((hour, channel, commune, outcome), count)| LookupCount {
                hour: *hour,
                channel: channel.as_str().to_owned(),
                commune: commune.clone(),
                outcome: outcome.as_str().to_owned(),
                count: *count,
            })
            .collect();
        if let Err(error) = store.add_lookup_counts(&rows).await {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            for (key, count) in pending {
                *counts.pending.entry(key).or_insert(0) += count;
            }
            return Err(error);
        }
        Ok(rows.len())
    }

    /// Lookups since start-up by channel and outcome.
    pub fn totals(&self) -> Vec<(&'static str, &'static str, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .totals
            .iter()
            .map(|((channel, outcome), n)| (*channel, *outcome, *n))
            .collect()
    }
}
