//! A free ENI address of a vSwitch: inside its CIDR, not one the cloud
//! reserves (the first address and the last three), and not an ENI address
//! of any endpoint of the VPC (config-declared or API-created, pending
//! ones included).

use std::collections::HashSet;
use std::net::IpAddr;

use ipnet::IpNet;

/// The lowest usable address of `cidr` not in `used`.
pub(crate) fn free_address(cidr: IpNet, used: &HashSet<IpAddr>) -> Option<IpAddr> {
    match cidr {
        IpNet::V4(net) => {
            let first = u32::from(net.network()).checked_add(1)?;
            let last = u32::from(net.broadcast()).checked_sub(3)?;
            (first..=last)
                .map(|n| IpAddr::V4(n.into()))
                .find(|a| !used.contains(a))
        }
        IpNet::V6(net) => {
            let first = u128::from(net.network()).checked_add(1)?;
            let last = u128::from(net.broadcast()).checked_sub(3)?;
            // A /64 is too large to walk; the first free one is near the
            // start unless the VPC holds more ENIs than anyone configures.
            (first..=last)
                .take(used.len() + 1)
                .map(|n| IpAddr::V6(n.into()))
                .find(|a| !used.contains(a))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_reserved_and_used_addresses() {
        let cidr: IpNet = "127.0.1.0/29".parse().unwrap();
        let mut used: HashSet<IpAddr> = HashSet::new();
        assert_eq!(
            free_address(cidr, &used),
            Some("127.0.1.1".parse().unwrap())
        );
        used.insert("127.0.1.1".parse().unwrap());
        used.insert("127.0.1.2".parse().unwrap());
        assert_eq!(
            free_address(cidr, &used),
            Some("127.0.1.3".parse().unwrap())
        );
        // .4 is the last usable one: .5, .6 and .7 are reserved.
        used.insert("127.0.1.3".parse().unwrap());
        used.insert("127.0.1.4".parse().unwrap());
        assert_eq!(free_address(cidr, &used), None);
        let v6: IpNet = "fd00:1::/64".parse().unwrap();
        assert_eq!(
            free_address(v6, &HashSet::new()),
            Some("fd00:1::1".parse().unwrap())
        );
    }
}
