//! A free ENI address of a vSwitch: inside its CIDR, not one the cloud
//! reserves (the first address and the last three), and not an ENI or
//! resolver address of the VPC (config-declared or API-created, pending
//! ones included).
//!
//! The addresses in use are kept per VPC as runs of consecutive addresses
//! (`UsedAddresses`), updated as records change, so that a create finds
//! the lowest free address in O(log n) instead of collecting every
//! endpoint's addresses at each call.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

/// The addresses in use, per VPC.
#[derive(Debug, Default)]
pub(crate) struct UsedAddresses {
    by_vpc: HashMap<String, Runs>,
}

/// The used addresses of one VPC.
#[derive(Debug, Default)]
struct Runs {
    /// How many records hold each address: a record and its replacement
    /// may hold the same one while a change is applied.
    count: HashMap<IpAddr, u32>,
    /// Maximal runs of used addresses, start → end (inclusive), as
    /// integers; one map per family.
    v4: BTreeMap<u128, u128>,
    v6: BTreeMap<u128, u128>,
}

fn number(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u32::from(a).into(),
        IpAddr::V6(a) => a.into(),
    }
}

impl Runs {
    fn runs(&mut self, a: IpAddr) -> &mut BTreeMap<u128, u128> {
        if a.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        }
    }

    fn insert(&mut self, a: IpAddr) {
        let n = self.count.entry(a).or_insert(0);
        *n += 1;
        if *n > 1 {
            return;
        }
        let x = number(a);
        let runs = self.runs(a);
        let mut start = x;
        let mut end = x;
        if let Some((&s, &e)) = runs.range(..x).next_back()
            && e.checked_add(1) == Some(x)
        {
            start = s;
        }
        if let Some(e) = x.checked_add(1).and_then(|next| runs.remove(&next)) {
            end = e;
        }
        runs.insert(start, end);
    }

    fn remove(&mut self, a: IpAddr) {
        let Some(n) = self.count.get_mut(&a) else {
            return;
        };
        *n -= 1;
        if *n > 0 {
            return;
        }
        self.count.remove(&a);
        let x = number(a);
        let runs = self.runs(a);
        let Some((&s, &e)) = runs.range(..=x).next_back() else {
            return;
        };
        runs.remove(&s);
        if s < x {
            runs.insert(s, x - 1);
        }
        if x < e {
            runs.insert(x + 1, e);
        }
    }

    /// The lowest address from `from` on that is not in a run: `from`
    /// itself, or the end of its run plus one (runs are maximal).
    fn free_from(&self, v6: bool, from: u128) -> Option<u128> {
        let runs = if v6 { &self.v6 } else { &self.v4 };
        match runs.range(..=from).next_back() {
            Some((_, &e)) if e >= from => e.checked_add(1),
            _ => Some(from),
        }
    }
}

impl UsedAddresses {
    pub(crate) fn insert(&mut self, vpc: &str, a: IpAddr) {
        match self.by_vpc.get_mut(vpc) {
            Some(r) => r.insert(a),
            None => self.by_vpc.entry(vpc.to_string()).or_default().insert(a),
        }
    }

    pub(crate) fn remove(&mut self, vpc: &str, a: IpAddr) {
        if let Some(r) = self.by_vpc.get_mut(vpc) {
            r.remove(a);
            if r.count.is_empty() {
                self.by_vpc.remove(vpc);
            }
        }
    }

    /// The addresses of `vpc` in use, with those a request has taken so
    /// far (`taken`, empty at first).
    pub(crate) fn of<'a>(&'a self, vpc: &str) -> Used<'a> {
        Used {
            runs: self.by_vpc.get(vpc),
            taken: HashSet::new(),
        }
    }
}

/// The addresses in use in one VPC while a request picks some.
#[derive(Debug)]
pub(crate) struct Used<'a> {
    runs: Option<&'a Runs>,
    /// What this request has taken (not yet in any record).
    taken: HashSet<IpAddr>,
}

impl Used<'_> {
    pub(crate) fn contains(&self, a: &IpAddr) -> bool {
        self.taken.contains(a) || self.runs.is_some_and(|r| r.count.contains_key(a))
    }

    pub(crate) fn insert(&mut self, a: IpAddr) {
        self.taken.insert(a);
    }

    /// The lowest address in `first..=last` (as integers of family `v6`)
    /// that is neither in use nor taken.
    fn lowest_free(&self, v6: bool, first: u128, last: u128) -> Option<u128> {
        let mut c = first;
        loop {
            if let Some(r) = self.runs {
                c = r.free_from(v6, c)?;
            }
            if c > last {
                return None;
            }
            let addr = if v6 {
                IpAddr::V6(c.into())
            } else {
                IpAddr::V4((c as u32).into())
            };
            if !self.taken.contains(&addr) {
                return Some(c);
            }
            c = c.checked_add(1)?;
        }
    }
}

/// The lowest usable address of `cidr` not in `used`.
pub(crate) fn free_address(cidr: IpNet, used: &Used<'_>) -> Option<IpAddr> {
    match cidr {
        IpNet::V4(net) => {
            let first = u32::from(net.network()).checked_add(1)?;
            let last = u32::from(net.broadcast()).checked_sub(3)?;
            used.lowest_free(false, first.into(), last.into())
                .map(|n| IpAddr::V4((n as u32).into()))
        }
        IpNet::V6(net) => {
            let first = u128::from(net.network()).checked_add(1)?;
            let last = u128::from(net.broadcast()).checked_sub(3)?;
            used.lowest_free(true, first, last)
                .map(|n| IpAddr::V6(n.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn skips_reserved_and_used_addresses() {
        let cidr: IpNet = "127.0.1.0/29".parse().unwrap();
        let mut index = UsedAddresses::default();
        assert_eq!(
            free_address(cidr, &index.of("vpc-a")),
            Some(ip("127.0.1.1"))
        );
        index.insert("vpc-a", ip("127.0.1.1"));
        let mut used = index.of("vpc-a");
        used.insert(ip("127.0.1.2"));
        assert_eq!(free_address(cidr, &used), Some(ip("127.0.1.3")));
        // .4 is the last usable one: .5, .6 and .7 are reserved.
        used.insert(ip("127.0.1.3"));
        used.insert(ip("127.0.1.4"));
        assert_eq!(free_address(cidr, &used), None);
        // Another VPC's addresses are its own.
        assert_eq!(
            free_address(cidr, &index.of("vpc-b")),
            Some(ip("127.0.1.1"))
        );
        let v6: IpNet = "fd00:1::/64".parse().unwrap();
        assert_eq!(free_address(v6, &index.of("vpc-a")), Some(ip("fd00:1::1")));
    }

    #[test]
    fn runs_merge_and_split_as_addresses_come_and_go() {
        let cidr: IpNet = "127.0.0.0/24".parse().unwrap();
        let mut index = UsedAddresses::default();
        for n in [1, 2, 4, 5, 3] {
            index.insert("v", ip(&format!("127.0.0.{n}")));
        }
        assert_eq!(index.by_vpc["v"].v4.len(), 1, "1..=5 is one run");
        assert_eq!(free_address(cidr, &index.of("v")), Some(ip("127.0.0.6")));
        index.remove("v", ip("127.0.0.3"));
        assert_eq!(free_address(cidr, &index.of("v")), Some(ip("127.0.0.3")));
        assert!(index.of("v").contains(&ip("127.0.0.4")));
        assert!(!index.of("v").contains(&ip("127.0.0.3")));
        // An address two records hold stays used until both let it go.
        index.insert("v", ip("127.0.0.1"));
        index.remove("v", ip("127.0.0.1"));
        assert_eq!(free_address(cidr, &index.of("v")), Some(ip("127.0.0.3")));
        index.remove("v", ip("127.0.0.1"));
        assert_eq!(free_address(cidr, &index.of("v")), Some(ip("127.0.0.1")));
        for n in [2, 4, 5] {
            index.remove("v", ip(&format!("127.0.0.{n}")));
        }
        assert!(index.by_vpc.is_empty());
    }

    #[test]
    fn the_index_agrees_with_a_plain_set() {
        // Random inserts and removals in a small range, each answer
        // checked against a walk over a plain set of the same addresses.
        let cidr: IpNet = "127.0.0.0/27".parse().unwrap();
        let mut index = UsedAddresses::default();
        let mut plain: HashMap<IpAddr, u32> = HashMap::new();
        for _ in 0..5000 {
            let a = IpAddr::V4([127, 0, 0, rand::random_range(0..32u8)].into());
            if rand::random_bool(0.5) {
                index.insert("v", a);
                *plain.entry(a).or_default() += 1;
            } else if let Some(n) = plain.get_mut(&a) {
                index.remove("v", a);
                *n -= 1;
                if *n == 0 {
                    plain.remove(&a);
                }
            }
            let want = (1..=28u8)
                .map(|n| IpAddr::V4([127, 0, 0, n].into()))
                .find(|a| !plain.contains_key(a));
            assert_eq!(free_address(cidr, &index.of("v")), want, "{plain:?}");
        }
    }
}
