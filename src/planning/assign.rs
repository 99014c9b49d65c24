//! Who goes to which station, one centre at a time. This is the planner's pure core: it sees
//! a centre's stations and its voters already in alphabetical order, and returns the planned
//! stations with their voters, so every rule of the issue is a property of one function.
//!
//! - [`Strategy::Keep`]: a station within the limit keeps every voter. An overfull station is
//!   cut into `ceil(n / max)` contiguous alphabetical ranges balanced within one voter; the
//!   first range stays (a largest one, so the fewest voters move) and the others open new
//!   stations of the same kind, numbered after the centre's last station. A voter without a
//!   station (a new registration) joins the least loaded station of the centre that may take
//!   them and has room, a woman a women's station first; those left over open new stations.
//! - [`Strategy::Rebalance`]: the centre's voters, women apart where the centre has women's
//!   stations, are cut into `ceil(n / max)` contiguous balanced ranges; the existing stations
//!   of that kind are reused in number order, then new ones are numbered after the last.
//!   A station no range needs is left empty (it stays in the map: the roll still assigns
//!   voters to it until the new roll is imported).

use crate::domain::{Sex, StationKind};

/// How to plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Move only voters of overfull stations (and place new voters).
    #[default]
    Keep,
    /// Recut every centre into balanced alphabetical ranges.
    Rebalance,
}

/// A voter as the core sees them: sex and current station number in the centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoterIn {
    pub sex: Option<Sex>,
    /// The station the roll assigns them to, `None` for a voter still to be placed.
    pub station: Option<u16>,
}

/// Where a planned station comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A station of the input map.
    Existing,
    /// Opened for part of an overfull station's voters.
    SplitFrom(u16),
    /// Opened for voters no existing station could take.
    Added,
}

/// A station of the plan, with its voters as indices into the centre's voters, ascending
/// (so in alphabetical order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStation {
    pub number: u16,
    pub kind: StationKind,
    pub origin: Origin,
    pub voters: Vec<u32>,
}

/// Why a centre cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    #[error("the centre would need station numbers above 9999")]
    TooManyStations,
}

/// The largest station number a map may hold.
const MAX_STATION: u16 = 9999;

/// Sizes of `k` contiguous pieces of `n` items, balanced within one, largest first.
fn pieces(n: usize, k: usize) -> impl Iterator<Item = usize> {
    let (base, extra) = n.checked_div(k).zip(n.checked_rem(k)).unwrap_or((0, 0));
    (0..k).map(move |i| base + usize::from(i < extra))
}

fn stations_needed(n: usize, max: u32) -> usize {
    n.div_ceil(max.max(1) as usize)
}

/// Hands out station numbers after the centre's last one.
struct Numbers {
    next: u32,
}

impl Numbers {
    fn take(&mut self) -> Result<u16, AssignError> {
        let n = u16::try_from(self.next)
            .ok()
            .filter(|&n| n <= MAX_STATION)
            .ok_or(AssignError::TooManyStations)?;
        self.next += 1;
        Ok(n)
    }
}

/// Plans one centre. `stations` are its stations (number, kind) in any order; `voters` its
/// voters in alphabetical order; `max` the legal limit. The result lists every station of
/// the input and the new ones, by number.
pub fn plan_centre(
    stations: &[(u16, StationKind)],
    voters: &[VoterIn],
    strategy: Strategy,
    max: u32,
) -> Result<Vec<PlannedStation>, AssignError> {
    let mut planned: Vec<PlannedStation> = stations
        .iter()
        .map(|&(number, kind)| PlannedStation {
            number,
            kind,
            origin: Origin::Existing,
            voters: Vec::new(),
        })
        .collect();
    planned.sort_by_key(|s| s.number);
    let mut numbers = Numbers {
        next: u32::from(planned.last().map_or(0, |s| s.number)) + 1,
    };
    match strategy {
        Strategy::Keep => keep(&mut planned, voters, max, &mut numbers)?,
        Strategy::Rebalance => rebalance(&mut planned, voters, max, &mut numbers)?,
    }
    for station in &mut planned {
        station.voters.sort_unstable();
    }
    planned.sort_by_key(|s| s.number);
    Ok(planned)
}

/// Whether a voter may vote in a station of this kind.
fn admits(kind: StationKind, sex: Option<Sex>) -> bool {
    kind == StationKind::Mixed || sex == Some(Sex::F)
}

/// The kind of the stations opened for voters of this sex in a centre with or without
/// women's stations.
fn group_kind(has_women: bool, sex: Option<Sex>) -> StationKind {
    if has_women && sex == Some(Sex::F) {
        StationKind::Women
    } else {
        StationKind::Mixed
    }
}

/// Cuts `members` (ascending) into balanced contiguous ranges over the given station
/// numbers, the first range into `first` when it is given.
fn cut_into(
    planned: &mut Vec<PlannedStation>,
    members: &[u32],
    count: usize,
    kind: StationKind,
    mut target: impl FnMut(usize, &mut Vec<PlannedStation>) -> Result<usize, AssignError>,
) -> Result<(), AssignError> {
    let mut start = 0;
    for (i, size) in pieces(members.len(), count).enumerate() {
        let at = target(i, planned)?;
        debug_assert_eq!(planned[at].kind, kind);
        planned[at]
            .voters
            .extend_from_slice(&members[start..start + size]);
        start += size;
    }
    Ok(())
}

fn open(
    planned: &mut Vec<PlannedStation>,
    numbers: &mut Numbers,
    kind: StationKind,
    origin: Origin,
) -> Result<usize, AssignError> {
    planned.push(PlannedStation {
        number: numbers.take()?,
        kind,
        origin,
        voters: Vec::new(),
    });
    Ok(planned.len() - 1)
}

fn keep(
    planned: &mut Vec<PlannedStation>,
    voters: &[VoterIn],
    max: u32,
    numbers: &mut Numbers,
) -> Result<(), AssignError> {
    let max_len = max as usize;
    let has_women = planned.iter().any(|s| s.kind == StationKind::Women);
    let mut unplaced: Vec<u32> = Vec::new();
    for (i, voter) in voters.iter().enumerate() {
        let at = voter
            .station
            .and_then(|n| planned.binary_search_by_key(&n, |s| s.number).ok());
        match at {
            Some(at) => planned[at].voters.push(i as u32),
            None => unplaced.push(i as u32),
        }
    }
    // New voters first, into stations with room: overfull stations have none, so the splits
    // below stay balanced.
    let mut overflow: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
    for i in unplaced {
        let sex = voters[i as usize].sex;
        let preferred = group_kind(has_women, sex);
        let best = planned
            .iter()
            .enumerate()
            .filter(|(_, s)| admits(s.kind, sex) && s.voters.len() < max_len)
            .min_by_key(|(_, s)| (s.kind != preferred, s.voters.len(), s.number))
            .map(|(at, _)| at);
        match best {
            Some(at) => planned[at].voters.push(i),
            None => overflow[usize::from(preferred == StationKind::Women)].push(i),
        }
    }
    for (members, kind) in overflow
        .iter()
        .zip([StationKind::Mixed, StationKind::Women])
    {
        let count = stations_needed(members.len(), max);
        cut_into(planned, members, count, kind, |_, planned| {
            open(planned, numbers, kind, Origin::Added)
        })?;
    }
    let existing = planned.len();
    for at in 0..existing {
        if planned[at].voters.len() <= max_len {
            continue;
        }
        let mut members = std::mem::take(&mut planned[at].voters);
        // Placed new voters came last; the cut is alphabetical.
        members.sort_unstable();
        let (kind, number) = (planned[at].kind, planned[at].number);
        let count = stations_needed(members.len(), max);
        cut_into(planned, &members, count, kind, |piece, planned| {
            if piece == 0 {
                Ok(at)
            } else {
                open(planned, numbers, kind, Origin::SplitFrom(number))
            }
        })?;
    }
    Ok(())
}

fn rebalance(
    planned: &mut Vec<PlannedStation>,
    voters: &[VoterIn],
    max: u32,
    numbers: &mut Numbers,
) -> Result<(), AssignError> {
    let has_women = planned.iter().any(|s| s.kind == StationKind::Women);
    for kind in [StationKind::Mixed, StationKind::Women] {
        let members: Vec<u32> = (0..voters.len() as u32)
            .filter(|&i| group_kind(has_women, voters[i as usize].sex) == kind)
            .collect();
        if members.is_empty() {
            continue;
        }
        let own: Vec<usize> = (0..planned.len())
            .filter(|&at| planned[at].kind == kind)
            .collect();
        let count = stations_needed(members.len(), max);
        cut_into(planned, &members, count, kind, |piece, planned| {
            match own.get(piece) {
                Some(&at) => Ok(at),
                None => open(planned, numbers, kind, Origin::Added),
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::Strategy;
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::Strategy as Generator;
    use std::collections::HashMap;

    const MIXED: StationKind = StationKind::Mixed;
    const WOMEN: StationKind = StationKind::Women;

    fn voter(sex: Option<Sex>, station: Option<u16>) -> VoterIn {
        VoterIn { sex, station }
    }

    fn sizes(plan: &[PlannedStation]) -> Vec<(u16, usize)> {
        plan.iter().map(|s| (s.number, s.voters.len())).collect()
    }

    #[test]
    fn keep_splits_1340_voters_into_three_balanced_ranges_after_the_last_station() {
        let mut voters = vec![voter(Some(Sex::M), Some(1)); 1340];
        voters.extend(vec![voter(Some(Sex::F), Some(2)); 120]);
        voters.extend(vec![voter(None, Some(3)); 400]);
        let plan = plan_centre(
            &[(1, MIXED), (2, WOMEN), (3, MIXED)],
            &voters,
            Strategy::Keep,
            500,
        )
        .unwrap();
        assert_eq!(
            sizes(&plan),
            [(1, 447), (2, 120), (3, 400), (4, 447), (5, 446)]
        );
        assert_eq!(plan[3].origin, Origin::SplitFrom(1));
        // The first alphabetical range stays: voters 0..447 keep station 1.
        assert_eq!(plan[0].voters, (0..447).collect::<Vec<u32>>());
        assert_eq!(plan[3].voters, (447..894).collect::<Vec<u32>>());
    }

    #[test]
    fn an_overfull_womens_station_gets_another_womens_station() {
        let voters = vec![voter(Some(Sex::F), Some(2)); 600];
        let plan = plan_centre(&[(1, MIXED), (2, WOMEN)], &voters, Strategy::Keep, 500).unwrap();
        assert_eq!(sizes(&plan), [(1, 0), (2, 300), (3, 300)]);
        assert_eq!(plan[2].kind, WOMEN);
    }

    #[test]
    fn new_voters_fill_room_then_open_stations_women_to_womens_stations() {
        let mut voters = vec![voter(Some(Sex::M), Some(1)); 495];
        voters.extend(vec![voter(Some(Sex::F), None); 10]);
        voters.extend(vec![voter(Some(Sex::M), None); 10]);
        let plan = plan_centre(&[(1, MIXED), (2, WOMEN)], &voters, Strategy::Keep, 500).unwrap();
        assert_eq!(sizes(&plan), [(1, 500), (2, 10), (3, 5)]);
        assert_eq!(plan[2].origin, Origin::Added);
        assert_eq!(plan[2].kind, MIXED);
    }

    #[test]
    fn rebalance_separates_women_and_reuses_stations_in_number_order() {
        let mut voters = Vec::new();
        for i in 0..1100u32 {
            let sex = if i % 3 == 0 { Sex::F } else { Sex::M };
            voters.push(voter(Some(sex), Some(1)));
        }
        let plan = plan_centre(
            &[(1, MIXED), (2, WOMEN), (3, MIXED), (4, MIXED)],
            &voters,
            Strategy::Rebalance,
            500,
        )
        .unwrap();
        // 733 men and unknowns in 2 mixed stations, 367 women in one women's station;
        // station 4 is not needed.
        assert_eq!(sizes(&plan), [(1, 367), (2, 367), (3, 366), (4, 0)]);
    }

    fn arbitrary_centre() -> impl Generator<Value = (Vec<(u16, StationKind)>, Vec<VoterIn>, u32)> {
        (1u16..6, 1u32..40, 0usize..400).prop_flat_map(|(stations, max, voters)| {
            let kinds = proptest::collection::vec(prop::bool::weighted(0.3), stations as usize);
            let people = proptest::collection::vec(
                (0u8..3, proptest::option::weighted(0.9, 1..=stations)),
                voters,
            );
            (kinds, people, Just(max)).prop_map(|(kinds, people, max)| {
                let stations: Vec<(u16, StationKind)> = kinds
                    .iter()
                    .enumerate()
                    .map(|(i, &w)| ((i + 1) as u16, if w { WOMEN } else { MIXED }))
                    .collect();
                let voters = people
                    .into_iter()
                    .map(|(sex, station)| {
                        let sex = [None, Some(Sex::M), Some(Sex::F)][sex as usize];
                        // Men are never in women's stations in a valid roll.
                        let station =
                            station.filter(|&n| admits(stations[usize::from(n) - 1].1, sex));
                        voter(sex, station)
                    })
                    .collect();
                (stations, voters, max)
            })
        })
    }

    fn check_common(
        stations: &[(u16, StationKind)],
        voters: &[VoterIn],
        max: u32,
        plan: &[PlannedStation],
    ) -> Result<(), TestCaseError> {
        let mut seen = vec![0u32; voters.len()];
        for station in plan {
            prop_assert!(station.voters.len() <= max as usize, "over the limit");
            for &i in &station.voters {
                seen[i as usize] += 1;
                if station.kind == WOMEN {
                    prop_assert_eq!(voters[i as usize].sex, Some(Sex::F));
                }
            }
        }
        prop_assert!(seen.iter().all(|&n| n == 1), "every voter exactly once");
        for &(number, kind) in stations {
            prop_assert!(
                plan.iter().any(|s| s.number == number && s.kind == kind),
                "every input station is kept"
            );
        }
        let mut numbers: Vec<u16> = plan.iter().map(|s| s.number).collect();
        numbers.dedup();
        prop_assert_eq!(numbers.len(), plan.len(), "numbers are unique");
        Ok(())
    }

    /// The alphabetical ranges (first and last voter) of a set of stations do not overlap.
    fn disjoint(ranges: &mut [(u32, u32)]) -> bool {
        ranges.sort_unstable();
        ranges.windows(2).all(|w| w[0].1 < w[1].0)
    }

    proptest! {
        #[test]
        fn keep_moves_no_voter_of_a_station_within_the_limit(
            (stations, voters, max) in arbitrary_centre()
        ) {
            let plan = plan_centre(&stations, &voters, Strategy::Keep, max).unwrap();
            check_common(&stations, &voters, max, &plan)?;
            let mut load: HashMap<u16, u32> = HashMap::new();
            for v in &voters {
                if let Some(n) = v.station {
                    *load.entry(n).or_default() += 1;
                }
            }
            let placed: HashMap<u32, u16> = plan
                .iter()
                .flat_map(|s| s.voters.iter().map(move |&i| (i, s.number)))
                .collect();
            for (i, v) in voters.iter().enumerate() {
                if let Some(n) = v.station
                    && load[&n] <= max
                {
                    prop_assert_eq!(placed[&(i as u32)], n, "a voter of a station within the limit stays");
                }
            }
            // The pieces of each split station are contiguous, balanced, and do not overlap.
            for (&n, &count) in &load {
                if count <= max {
                    continue;
                }
                let pieces: Vec<&PlannedStation> = plan
                    .iter()
                    .filter(|s| s.number == n || s.origin == Origin::SplitFrom(n))
                    .collect();
                prop_assert_eq!(pieces.len(), (count as usize).div_ceil(max as usize));
                let lens: Vec<usize> = pieces.iter().map(|s| s.voters.len()).collect();
                prop_assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1);
                prop_assert!(lens[0] == *lens.iter().max().unwrap(), "the largest range stays");
                let mut ranges: Vec<(u32, u32)> = pieces
                    .iter()
                    .map(|s| (s.voters[0], *s.voters.last().unwrap()))
                    .collect();
                prop_assert!(disjoint(&mut ranges));
            }
        }

        #[test]
        fn rebalance_cuts_balanced_contiguous_ranges_per_kind(
            (stations, voters, max) in arbitrary_centre()
        ) {
            let plan = plan_centre(&stations, &voters, Strategy::Rebalance, max).unwrap();
            check_common(&stations, &voters, max, &plan)?;
            for kind in [MIXED, WOMEN] {
                let used: Vec<&PlannedStation> = plan
                    .iter()
                    .filter(|s| s.kind == kind && !s.voters.is_empty())
                    .collect();
                let n: usize = used.iter().map(|s| s.voters.len()).sum();
                prop_assert_eq!(used.len(), n.div_ceil(max as usize));
                if let (Some(big), Some(small)) = (
                    used.iter().map(|s| s.voters.len()).max(),
                    used.iter().map(|s| s.voters.len()).min(),
                ) {
                    prop_assert!(big - small <= 1, "balanced within one");
                }
                // Contiguous: each station's voters are consecutive among its kind's voters.
                let mut members: Vec<u32> = used.iter().flat_map(|s| s.voters.clone()).collect();
                members.sort_unstable();
                for s in &used {
                    let first = members.binary_search(&s.voters[0]).unwrap();
                    prop_assert_eq!(&members[first..first + s.voters.len()], &s.voters[..]);
                }
                let mut ranges: Vec<(u32, u32)> = used
                    .iter()
                    .map(|s| (s.voters[0], *s.voters.last().unwrap()))
                    .collect();
                prop_assert!(disjoint(&mut ranges));
            }
        }

        #[test]
        fn planning_is_deterministic((stations, voters, max) in arbitrary_centre()) {
            for strategy in [Strategy::Keep, Strategy::Rebalance] {
                let mut shuffled = stations.clone();
                shuffled.reverse();
                prop_assert_eq!(
                    plan_centre(&stations, &voters, strategy, max).unwrap(),
                    plan_centre(&shuffled, &voters, strategy, max).unwrap()
                );
            }
        }
    }
}
