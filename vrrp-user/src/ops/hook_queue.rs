//! What waits for an instance's hooks: its transitions, strictly in order, in a bounded queue.
//!
//! A hook that is slower than the transitions it is told about must not make the queue grow
//! without bound, and must still learn the state the instance ended up in. So when the queue
//! is full, the newest waiting transition is replaced by the one arriving: the oldest waiting
//! ones (what happened first) and the newest one (the state now) are kept, and the one in
//! between is collapsed into the newcomer, which carries the count. Nothing here does IO.

use std::collections::VecDeque;

/// Transitions waiting per instance. Small: a hook that falls this far behind is told about
/// the newest state, not about every flap.
pub(crate) const HOOK_QUEUE_CAPACITY: usize = 16;

/// An item and how many items before it were collapsed into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Queued<T> {
    /// What to deliver.
    pub(crate) item: T,
    /// Items dropped between the one delivered before this and this one.
    pub(crate) collapsed: u32,
}

/// A FIFO of at most `capacity` items that never drops its newest one.
#[derive(Debug)]
pub(crate) struct CollapsingQueue<T> {
    items: VecDeque<Queued<T>>,
    capacity: usize,
}

impl<T> CollapsingQueue<T> {
    /// A queue of `capacity` (at least 2, so the oldest item survives a collapse).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self {
            items: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Appends `item`; when full, it replaces the newest waiting item. Returns how many items
    /// were collapsed (0 or 1).
    pub(crate) fn push(&mut self, item: T) -> u32 {
        if self.items.len() < self.capacity {
            self.items.push_back(Queued { item, collapsed: 0 });
            return 0;
        }
        let replaced = self
            .items
            .pop_back()
            .map_or(0, |queued| queued.collapsed.saturating_add(1));
        self.items.push_back(Queued {
            item,
            collapsed: replaced,
        });
        1
    }

    /// The oldest waiting item.
    pub(crate) fn pop(&mut self) -> Option<Queued<T>> {
        self.items.pop_front()
    }

    /// Items waiting.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn drain<T>(queue: &mut CollapsingQueue<T>) -> Vec<Queued<T>> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn below_capacity_everything_is_delivered_in_order() {
        let mut queue = CollapsingQueue::new(4);
        for n in 0..4 {
            assert_eq!(queue.push(n), 0);
        }
        let items: Vec<_> = drain(&mut queue).into_iter().map(|q| q.item).collect();
        assert_eq!(items, [0, 1, 2, 3]);
    }

    #[test]
    fn overflow_keeps_the_oldest_and_the_newest_and_counts_the_rest() {
        let mut queue = CollapsingQueue::new(3);
        let collapsed: u32 = (0..10).map(|n| queue.push(n)).sum();
        assert_eq!(collapsed, 7);
        assert_eq!(queue.len(), 3);
        assert_eq!(
            drain(&mut queue),
            [
                Queued {
                    item: 0,
                    collapsed: 0
                },
                Queued {
                    item: 1,
                    collapsed: 0
                },
                Queued {
                    item: 9,
                    collapsed: 7
                },
            ]
        );
    }

    #[test]
    fn a_capacity_below_two_still_keeps_the_oldest() {
        let mut queue = CollapsingQueue::new(0);
        for n in 0..5 {
            queue.push(n);
        }
        let items: Vec<_> = drain(&mut queue).into_iter().map(|q| q.item).collect();
        assert_eq!(items, [0, 4]);
    }

    proptest! {
        /// Whatever the interleaving of arrivals and deliveries: the order is kept, the newest
        /// arrival is always delivered, and delivered + collapsed = arrived.
        #[test]
        fn order_newest_and_counts_hold(
            capacity in 2_usize..6,
            steps in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let mut queue = CollapsingQueue::new(capacity);
            let mut next = 0_u32;
            let mut delivered = Vec::new();
            let mut collapsed_returned = 0_u32;
            let mut collapsed_carried = 0_u32;
            for arrive in steps {
                if arrive {
                    collapsed_returned += queue.push(next);
                    next += 1;
                } else if let Some(queued) = queue.pop() {
                    collapsed_carried += queued.collapsed;
                    delivered.push(queued.item);
                }
                prop_assert!(queue.len() <= capacity);
            }
            for queued in drain(&mut queue) {
                collapsed_carried += queued.collapsed;
                delivered.push(queued.item);
            }
            prop_assert!(delivered.windows(2).all(|pair| pair[0] < pair[1]));
            if next > 0 {
                prop_assert_eq!(delivered.last().copied(), Some(next - 1));
            }
            prop_assert_eq!(collapsed_returned, collapsed_carried);
            prop_assert_eq!(delivered.len() as u32 + collapsed_returned, next);
        }
    }
}
