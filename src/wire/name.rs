//! Names in lowercase uncompressed wire format, built on the stack: the key
//! form of the answer tables and of the zone index.
//!
//! Every ancestor of a name is a suffix of its wire form starting at a label
//! boundary, so walking from a query name up to a zone apex needs no
//! allocation: only slices of one buffer.

use hickory_proto::rr::Name;

/// Wire form of a name is at most 255 octets (RFC 1035 §3.1), so at most
/// 127 labels plus the root.
pub(crate) const MAX_WIRE: usize = 255;
const MAX_LABELS: usize = 128;

/// A name in lowercase uncompressed wire format, with its label offsets.
pub(crate) struct WireName {
    buf: [u8; MAX_WIRE + 2],
    len: usize,
    starts: [u8; MAX_LABELS],
    labels: usize,
}

impl WireName {
    pub(crate) fn new(name: &Name) -> Self {
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
    pub(crate) fn labels(&self) -> usize {
        self.labels
    }

    /// The whole name.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The ancestor that drops the first `skip` labels (`skip <= labels()`).
    pub(crate) fn ancestor(&self, skip: usize) -> &[u8] {
        let start = if skip >= self.labels {
            self.len - 1
        } else {
            usize::from(self.starts[skip])
        };
        &self.buf[start..self.len]
    }

    /// The first `count` labels (`count <= labels()`), without the root: what
    /// is left of the name once an ancestor of `labels() - count` labels is
    /// cut off.
    pub(crate) fn leading(&self, count: usize) -> &[u8] {
        let end = if count >= self.labels {
            self.len - 1
        } else {
            usize::from(self.starts[count])
        };
        &self.buf[..end]
    }
}

/// Whether wire name `name` is at or below `apex`, at a label boundary.
pub(crate) fn under(name: &[u8], apex: &[u8]) -> bool {
    let mut pos = 0;
    while pos < name.len() {
        if name[pos..] == *apex {
            return true;
        }
        pos += 1 + name[pos] as usize;
    }
    apex.is_empty()
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
        assert_eq!(key.leading(1), b"\x03www");
        assert_eq!(key.leading(2), b"\x03www\x04corp");
        assert_eq!(key.leading(0), b"");
        assert_eq!(key.leading(3), b"\x03www\x04corp\x03lab");
    }

    #[test]
    fn under_is_at_label_boundaries() {
        let apex = b"\x03lab\x00";
        assert!(under(b"\x03www\x04corp\x03lab\x00", apex));
        assert!(under(b"\x03lab\x00", apex));
        assert!(!under(b"\x04xlab\x00", apex));
        assert!(!under(b"\x03lab\x03com\x00", apex));
        assert!(under(b"\x03any\x00", b""));
    }
}
