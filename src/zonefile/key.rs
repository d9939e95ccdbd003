//! Lookup keys: a name in lowercase wire format, built on the stack.
//!
//! The index is keyed by these bytes. Every ancestor of a name is a suffix of
//! its wire form starting at a label boundary, so walking from a query name up
//! to the zone apex needs no allocation at all: only slices of one buffer.

use hickory_proto::rr::Name;

/// Wire form of a name is at most 255 octets (RFC 1035 §3.1), so at most
/// 127 labels plus the root.
const MAX_WIRE: usize = 255;
const MAX_LABELS: usize = 128;

/// A name in lowercase uncompressed wire format, with its label offsets.
pub(crate) struct WireName {
    buf: [u8; MAX_WIRE + 2],
    len: usize,
    starts: [u8; MAX_LABELS],
    labels: usize,
}

impl WireName {
    pub fn new(name: &Name) -> Self {
        let mut key = Self {
            buf: [0; MAX_WIRE + 2],
            len: 0,
            starts: [0; MAX_LABELS],
            labels: 0,
        };
        for label in name.iter() {
            // hickory's Name enforces the limits; the checks keep this safe anyway.
            if key.labels == MAX_LABELS || key.len + 1 + label.len() > MAX_WIRE {
                break;
            }
            key.starts[key.labels] = key.len as u8;
            key.labels += 1;
            key.buf[key.len] = label.len() as u8;
            key.len += 1;
            for &b in label {
                key.buf[key.len] = b.to_ascii_lowercase();
                key.len += 1;
            }
        }
        // The root label.
        key.buf[key.len] = 0;
        key.len += 1;
        key
    }

    /// Number of labels, the root excluded.
    pub fn labels(&self) -> usize {
        self.labels
    }

    /// The whole name.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The ancestor that drops the first `skip` labels (`skip <= labels()`).
    pub fn ancestor(&self, skip: usize) -> &[u8] {
        let start = if skip >= self.labels {
            self.len - 1
        } else {
            usize::from(self.starts[skip])
        };
        &self.buf[start..self.len]
    }
}

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
    fn ancestors_are_lowercase_suffixes() {
        let name = Name::from_ascii("WWW.Corp.Lab.").unwrap();
        let key = WireName::new(&name);
        assert_eq!(key.labels(), 3);
        assert_eq!(key.bytes(), b"\x03www\x04corp\x03lab\x00");
        assert_eq!(key.ancestor(1), b"\x04corp\x03lab\x00");
        assert_eq!(key.ancestor(3), b"\x00");
        let mut buf = wildcard_buf();
        assert_eq!(
            wildcard_of(key.ancestor(1), &mut buf),
            b"\x01*\x04corp\x03lab\x00"
        );
    }
}
