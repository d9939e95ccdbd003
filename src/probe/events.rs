//! Transition events: what changed, when and why, kept in a bounded history for
//! the API and logged with structured fields.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::SystemTime;

use super::threshold::State;

/// A change of a target's effective state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub(crate) at: SystemTime,
    pub(crate) endpoint: String,
    pub(crate) zone: String,
    pub(crate) ip: IpAddr,
    pub from: State,
    pub to: State,
    pub reason: String,
}

impl Event {
    /// One structured log line per transition, at info: transitions are rare and
    /// are what an operator looks for after a failover.
    pub(super) fn log(&self) {
        tracing::info!(
            endpoint = %self.endpoint, zone = %self.zone, eni = %self.ip,
            from = %self.from, to = %self.to, reason = %self.reason,
            "eni {}", self.to
        );
    }
}

/// Default number of events kept for the API.
pub(crate) const DEFAULT_EVENT_CAPACITY: usize = 1000;

/// The newest `capacity` events, oldest first: memory stays bounded however
/// long a chaos test flaps an ENI.
pub(super) struct EventRing {
    capacity: usize,
    events: VecDeque<Event>,
}

impl EventRing {
    /// A ring of at least one event.
    pub(super) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        EventRing {
            capacity,
            events: VecDeque::with_capacity(capacity.min(DEFAULT_EVENT_CAPACITY)),
        }
    }

    pub(super) fn push(&mut self, event: Event) {
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    pub(super) fn to_vec(&self) -> Vec<Event> {
        self.events.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u8) -> Event {
        Event {
            at: SystemTime::UNIX_EPOCH,
            endpoint: "ep-1".into(),
            zone: "z1".into(),
            ip: IpAddr::from([127, 0, 1, n]),
            from: State::Up,
            to: State::Down,
            reason: format!("event {n}"),
        }
    }

    #[test]
    fn keeps_the_newest_in_order() {
        let mut ring = EventRing::new(3);
        for n in 0..10 {
            ring.push(event(n));
        }
        let reasons: Vec<_> = ring.to_vec().into_iter().map(|e| e.reason).collect();
        assert_eq!(reasons, ["event 7", "event 8", "event 9"]);
    }

    #[test]
    fn capacity_is_at_least_one() {
        let mut ring = EventRing::new(0);
        ring.push(event(1));
        ring.push(event(2));
        assert_eq!(ring.to_vec(), [event(2)]);
    }
}
