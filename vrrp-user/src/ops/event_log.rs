//! The recent events in memory (bounded) and their live stream, for `xvrrp events` and
//! `status`'s last transitions.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Mutex, MutexGuard, PoisonError},
};

use tokio::sync::broadcast;

use super::journal::{EventKind, EventRecord};

/// Live followers that fall this far behind lose events (and are told how many).
const FOLLOW_QUEUE: usize = 256;

/// A bounded ring of records plus a broadcast of each new one.
pub(crate) struct EventLog {
    ring: Mutex<VecDeque<EventRecord>>,
    capacity: usize,
    live: broadcast::Sender<EventRecord>,
}

impl EventLog {
    /// A log keeping the newest `capacity` records, starting with `history` (oldest first).
    pub(crate) fn new(capacity: usize, history: Vec<EventRecord>) -> Self {
        let mut ring: VecDeque<EventRecord> = history.into();
        while ring.len() > capacity {
            ring.pop_front();
        }
        Self {
            ring: Mutex::new(ring),
            capacity,
            live: broadcast::channel(FOLLOW_QUEUE).0,
        }
    }

    /// Keeps `record` and hands it to live followers.
    pub(crate) fn record(&self, record: EventRecord) {
        let mut ring = self.lock();
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(record.clone());
        // Sent under the lock, so `follow_since` never sees a record twice or misses one.
        let _no_followers_is_fine = self.live.send(record);
    }

    /// The records at or after `since_ms`, oldest first.
    pub(crate) fn since(&self, since_ms: u64) -> Vec<EventRecord> {
        collect_since(&self.lock(), since_ms)
    }

    /// The records at or after `since_ms`, and a receiver of every later one.
    pub(crate) fn follow_since(
        &self,
        since_ms: u64,
    ) -> (Vec<EventRecord>, broadcast::Receiver<EventRecord>) {
        let ring = self.lock();
        (collect_since(&ring, since_ms), self.live.subscribe())
    }

    /// The newest transition of each instance at or after `since_ms`, by instance name.
    pub(crate) fn last_transitions(&self, since_ms: u64) -> BTreeMap<String, EventRecord> {
        let ring = self.lock();
        let mut last = BTreeMap::new();
        for record in ring.iter().filter(|r| r.at_ms >= since_ms) {
            if let (EventKind::Transition, Some(instance)) = (record.kind, &record.instance) {
                last.insert(instance.clone(), record.clone());
            }
        }
        last
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<EventRecord>> {
        // A panic while holding it cannot leave the ring inconsistent (push/pop only).
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn collect_since(ring: &VecDeque<EventRecord>, since_ms: u64) -> Vec<EventRecord> {
    ring.iter()
        .filter(|record| record.at_ms >= since_ms)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: u64, instance: &str) -> EventRecord {
        let mut record = EventRecord::empty(at_ms, EventKind::Transition);
        record.instance = Some(instance.to_owned());
        record
    }

    #[test]
    fn ring_is_bounded_and_followers_miss_nothing() {
        let log = EventLog::new(3, vec![record(1, "a"), record(2, "b")]);
        log.record(record(3, "a"));
        log.record(record(4, "b"));
        let kept: Vec<u64> = log.since(0).iter().map(|r| r.at_ms).collect();
        assert_eq!(kept, [2, 3, 4]);
        let (past, mut live) = log.follow_since(4);
        assert_eq!(past.len(), 1);
        log.record(record(5, "a"));
        assert_eq!(live.try_recv().unwrap().at_ms, 5);
        let last = log.last_transitions(0);
        assert_eq!(last["a"].at_ms, 5);
        assert_eq!(last["b"].at_ms, 4);
        assert!(!log.last_transitions(5).contains_key("b"));
    }
}
