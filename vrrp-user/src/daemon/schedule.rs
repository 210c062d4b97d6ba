//! Finding instances by identity and by deadline without scanning them all: a punted advert
//! names its (interface, family, VRID), and a loop turn needs only the instances that are due.

use std::{
    collections::{BTreeSet, HashMap},
    time::Instant,
};

use crate::proto::AddressFamily;

/// Who an instance is on the wire: unique per daemon (validation rejects duplicates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct InstanceId {
    pub(crate) ifindex: u32,
    pub(crate) family: AddressFamily,
    pub(crate) vrid: u8,
}

/// The daemon's wake-ups by instance. Masters' Adver_Timers are kept apart: they may be served
/// between any two steps of a long reload or start, while Master_Down_Timers wait for the loop,
/// which first handles the adverts already queued.
#[derive(Debug, Default)]
pub(crate) struct Timetable {
    /// Adver_Timer of each Master.
    pub(crate) adverts: Schedule<InstanceId>,
    /// Every other deadline of an instance: its Master_Down_Timer, the refresh of its virtual
    /// addresses' lifetime.
    pub(crate) others: Schedule<InstanceId>,
    /// Instances by identity.
    pub(crate) positions: InstanceIndex,
}

/// One deadline per key, ordered: `set` replaces a key's deadline, `pop_due` takes the earliest
/// one that has passed. O(log n) each.
#[derive(Debug)]
pub(crate) struct Schedule<K> {
    by_deadline: BTreeSet<(Instant, K)>,
    deadline_of: HashMap<K, Instant>,
}

impl<K> Default for Schedule<K> {
    fn default() -> Self {
        Self {
            by_deadline: BTreeSet::new(),
            deadline_of: HashMap::new(),
        }
    }
}

impl<K: Copy + Ord + std::hash::Hash> Schedule<K> {
    /// Makes `deadline` the one deadline of `key` (`None`: nothing scheduled).
    pub(crate) fn set(&mut self, key: K, deadline: Option<Instant>) {
        let old = match deadline {
            Some(deadline) => self.deadline_of.insert(key, deadline),
            None => self.deadline_of.remove(&key),
        };
        if old == deadline {
            return;
        }
        if let Some(old) = old {
            self.by_deadline.remove(&(old, key));
        }
        if let Some(deadline) = deadline {
            self.by_deadline.insert((deadline, key));
        }
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.by_deadline.first().map(|(deadline, _)| *deadline)
    }

    /// Removes and returns the key with the earliest deadline, if that is not after `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<K> {
        let &(deadline, key) = self.by_deadline.first()?;
        if deadline > now {
            return None;
        }
        self.by_deadline.pop_first();
        self.deadline_of.remove(&key);
        Some(key)
    }
}

/// Where each instance sits in the daemon's list. The list is changed by start (push) and
/// reload (remove, which shifts later entries), so every hit is verified against the instance
/// it points at and the map is rebuilt when it is stale.
#[derive(Debug, Default)]
pub(crate) struct InstanceIndex {
    position_of: HashMap<InstanceId, usize>,
}

impl InstanceIndex {
    /// Records that `id` is at `position` now.
    pub(crate) fn insert(&mut self, id: InstanceId, position: usize) {
        self.position_of.insert(id, position);
    }

    /// The position of `id` in a list of `len` entries, where `id_at` tells who is where.
    pub(crate) fn find(
        &mut self,
        id: InstanceId,
        len: usize,
        id_at: impl Fn(usize) -> Option<InstanceId>,
    ) -> Option<usize> {
        match self.position_of.get(&id) {
            Some(&position) if id_at(position) == Some(id) => return Some(position),
            // Absent and every entry accounted for: no such instance.
            None if self.position_of.len() == len => return None,
            _ => {}
        }
        self.position_of = (0..len)
            .filter_map(|position| Some((id_at(position)?, position)))
            .collect();
        self.position_of.get(&id).copied()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn id(vrid: u8) -> InstanceId {
        InstanceId {
            ifindex: 2,
            family: AddressFamily::Ipv4,
            vrid,
        }
    }

    #[test]
    fn due_keys_come_out_earliest_first_and_rescheduling_replaces() {
        let base = Instant::now();
        let at = |ms| Some(base + Duration::from_millis(ms));
        let mut schedule = Schedule::default();
        schedule.set(1, at(30));
        schedule.set(2, at(10));
        schedule.set(3, at(20));
        schedule.set(2, at(40));
        schedule.set(3, None);
        assert_eq!(schedule.next(), at(30));
        assert_eq!(schedule.pop_due(base + Duration::from_millis(29)), None);
        assert_eq!(schedule.pop_due(base + Duration::from_millis(50)), Some(1));
        assert_eq!(schedule.pop_due(base + Duration::from_millis(50)), Some(2));
        assert_eq!(schedule.pop_due(base + Duration::from_millis(50)), None);
        assert_eq!(schedule.next(), None);
    }

    #[test]
    fn the_index_follows_a_list_whose_entries_shifted() {
        let mut list = vec![id(1), id(2), id(3)];
        let mut index = InstanceIndex::default();
        for (position, entry) in list.iter().enumerate() {
            index.insert(*entry, position);
        }
        list.remove(0);
        let at = |list: &[InstanceId], position: usize| list.get(position).copied();
        assert_eq!(index.find(id(3), list.len(), |p| at(&list, p)), Some(1));
        assert_eq!(index.find(id(2), list.len(), |p| at(&list, p)), Some(0));
        assert_eq!(index.find(id(1), list.len(), |p| at(&list, p)), None);
        assert_eq!(index.find(id(9), list.len(), |p| at(&list, p)), None);
    }
}
