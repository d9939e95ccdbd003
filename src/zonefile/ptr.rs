//! Reverse names of addresses.

use std::net::IpAddr;

use hickory_proto::rr::Name;

/// The reverse-lookup name of an address: `d.c.b.a.in-addr.arpa.` for IPv4,
/// 32 nibbles under `ip6.arpa.` for IPv6 (RFC 1035 §3.5, RFC 3596 §2.5).
pub(crate) fn ptr_name(ip: IpAddr) -> Name {
    let mut name = Name::from(ip);
    name.set_fqdn(true);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_reverse_names() {
        assert_eq!(
            ptr_name("127.0.0.10".parse().unwrap()).to_string(),
            "10.0.0.127.in-addr.arpa."
        );
        assert_eq!(
            ptr_name("::1".parse().unwrap()).to_string(),
            format!("1.{}ip6.arpa.", "0.".repeat(31))
        );
    }
}
