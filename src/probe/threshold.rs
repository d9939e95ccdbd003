//! The rise/fall state machine that turns raw probe results into up/down.
//!
//! Pure and clock-free: it counts results, so tests drive it without sleeping.

use std::fmt;

/// State of one target as the probes see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No probe result yet.
    Unknown,
    Up,
    Down,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Up => "up",
            State::Down => "down",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of state caused by one recorded result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) from: State,
    pub(crate) to: State,
    /// Consecutive agreeing results that caused it (1 for a first result).
    pub(crate) streak: u32,
}

/// Rise/fall hysteresis for one target.
///
/// The first result after [`Threshold::new`] or [`Threshold::reconfigure`] sets
/// the state directly: at start there is no earlier evidence to weigh it
/// against, and waiting for `rise`/`fall` results would keep the target in a
/// state nobody observed. After that an up target needs `fall` consecutive
/// failures to go down and a down target `rise` consecutive successes to come
/// back; any result that agrees with the current state resets the count.
#[derive(Debug, Clone)]
pub(crate) struct Threshold {
    rise: u32,
    fall: u32,
    state: State,
    /// Consecutive results disagreeing with `state`.
    streak: u32,
    /// The next result sets the state directly.
    fresh: bool,
}

impl Threshold {
    /// `rise` and `fall` below 1 are treated as 1 (settings validation rejects them
    /// earlier; this keeps the machine total).
    pub(crate) fn new(rise: u32, fall: u32) -> Self {
        Threshold {
            rise: rise.max(1),
            fall: fall.max(1),
            state: State::Unknown,
            streak: 0,
            fresh: true,
        }
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// True until the first result since creation or the last reconfigure.
    pub(crate) fn awaiting_first(&self) -> bool {
        self.fresh
    }

    /// New rise/fall for a target whose probe changed: the current state stays
    /// (better than Unknown until the new probe reports) and the new probe's
    /// first result decides directly, as at start.
    pub(crate) fn reconfigure(&mut self, rise: u32, fall: u32) {
        self.rise = rise.max(1);
        self.fall = fall.max(1);
        self.streak = 0;
        self.fresh = true;
    }

    /// Records one probe result; returns the transition it caused, if any.
    pub(crate) fn record(&mut self, ok: bool) -> Option<Transition> {
        let observed = if ok { State::Up } else { State::Down };
        if self.fresh {
            self.fresh = false;
            self.streak = 0;
            return self.move_to(observed, 1);
        }
        if observed == self.state {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if ok { self.rise } else { self.fall };
        if self.streak >= needed {
            let streak = self.streak;
            self.streak = 0;
            return self.move_to(observed, streak);
        }
        None
    }

    fn move_to(&mut self, to: State, streak: u32) -> Option<Transition> {
        let from = self.state;
        self.state = to;
        (from != to).then_some(Transition { from, to, streak })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(t: &mut Threshold, results: &[bool]) -> Vec<Option<State>> {
        results
            .iter()
            .map(|&ok| t.record(ok).map(|tr| tr.to))
            .collect()
    }

    #[test]
    fn first_result_sets_state_directly() {
        let mut up = Threshold::new(3, 3);
        assert_eq!(up.state(), State::Unknown);
        assert!(up.awaiting_first());
        let tr = up.record(true).unwrap();
        assert_eq!((tr.from, tr.to, tr.streak), (State::Unknown, State::Up, 1));
        assert!(!up.awaiting_first());

        let mut down = Threshold::new(3, 3);
        assert_eq!(down.record(false).unwrap().to, State::Down);
    }

    #[test]
    fn falls_after_fall_failures_and_rises_after_rise_successes() {
        let mut t = Threshold::new(2, 3);
        t.record(true);
        assert_eq!(feed(&mut t, &[false, false]), [None, None]);
        assert_eq!(t.state(), State::Up);
        let tr = t.record(false).unwrap();
        assert_eq!((tr.from, tr.to, tr.streak), (State::Up, State::Down, 3));
        assert_eq!(feed(&mut t, &[true]), [None]);
        assert_eq!(feed(&mut t, &[true]), [Some(State::Up)]);
    }

    #[test]
    fn single_failure_does_not_flap() {
        let mut t = Threshold::new(2, 2);
        t.record(true);
        let results = [false, true, false, true, true, false, true];
        assert!(feed(&mut t, &results).iter().all(Option::is_none));
        assert_eq!(t.state(), State::Up);
    }

    #[test]
    fn agreeing_result_resets_the_streak() {
        let mut t = Threshold::new(2, 2);
        t.record(false);
        assert_eq!(feed(&mut t, &[true, false, true]), [None, None, None]);
        assert_eq!(t.state(), State::Down);
        assert_eq!(feed(&mut t, &[true]), [Some(State::Up)]);
    }

    #[test]
    fn rise_and_fall_of_one_follow_every_result() {
        let mut t = Threshold::new(1, 1);
        let got = feed(&mut t, &[true, false, true, true]);
        assert_eq!(
            got,
            [Some(State::Up), Some(State::Down), Some(State::Up), None]
        );
    }

    #[test]
    fn reconfigure_keeps_state_and_next_result_decides() {
        let mut t = Threshold::new(2, 2);
        t.record(true);
        t.record(false); // one failure pending, discarded by reconfigure
        t.reconfigure(5, 5);
        assert_eq!(t.state(), State::Up);
        assert!(t.awaiting_first());
        // The first result of the new probe agrees: no transition.
        assert_eq!(t.record(true), None);
        assert_eq!(t.state(), State::Up);
        // From now on the new fall applies.
        assert_eq!(feed(&mut t, &[false; 4]), [None; 4]);
        assert_eq!(t.record(false).unwrap().to, State::Down);

        t.reconfigure(5, 5);
        assert_eq!(t.record(true).unwrap().to, State::Up);
    }
}
