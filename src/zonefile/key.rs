//! Lookup keys of the zone index: names in lowercase wire format
//! (`crate::wire::WireName`), and wildcard names built beside them.

use hickory_proto::rr::Name;

use crate::wire::WireName;
use crate::wire::name::MAX_WIRE;

/// The owned key of a name, for building the index.
pub(crate) fn key_of(name: &Name) -> Box<[u8]> {
    WireName::new(name).bytes().into()
}

/// `*.` followed by `encloser` (a wire-format name), written into `buf`.
pub(crate) fn wildcard_of<'b>(encloser: &[u8], buf: &'b mut [u8; MAX_WIRE + 2]) -> &'b [u8] {
    let len = (2 + encloser.len()).min(buf.len());
    buf[0] = 1;
    buf[1] = b'*';
    buf[2..len].copy_from_slice(&encloser[..len - 2]);
    &buf[..len]
}

/// A buffer for `wildcard_of`.
pub(crate) fn wildcard_buf() -> [u8; MAX_WIRE + 2] {
    [0; MAX_WIRE + 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_is_star_then_the_encloser() {
        let key = WireName::new(&Name::from_ascii("WWW.Corp.Lab.").unwrap());
        let mut buf = wildcard_buf();
        assert_eq!(
            wildcard_of(key.ancestor(1), &mut buf),
            b"\x01*\x04corp\x03lab\x00"
        );
    }
}
