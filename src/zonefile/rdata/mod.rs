//! RDATA from presentation format to wire format, for every type BIND 9
//! reads, and RFC 3597's generic `\# length hex` for any type.
//!
//! Each type's fields are read in order by a [`Fields`] cursor over the
//! entry's tokens; a fault names the token to blame, so it gets a column.

mod fields;
mod loc;
mod special;
mod svcb;

pub(crate) use fields::{FieldError, Fields};

use super::text;

/// Encodes the RDATA of type `code` from `fields` into `out`.
pub(crate) fn encode(
    code: u16,
    f: &mut Fields<'_, '_>,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    if f.peek_is(b"\\#") {
        return generic(f, out);
    }
    match code {
        // A
        1 => out.extend_from_slice(&f.ipv4()?.octets()),
        // NS, CNAME, MB, MG, MR, PTR, NSAP-PTR, DNAME
        2 | 5 | 7 | 8 | 9 | 12 | 23 | 39 => f.name(out)?,
        3 | 4 => {
            return Err(f.error_here("MD and MF are obsolete (RFC 973): use MX"));
        }
        // SOA
        6 => {
            f.name(out)?;
            f.name(out)?;
            f.u32(out, "a serial")?;
            for _ in 0..4 {
                f.ttl(out)?;
            }
        }
        10 => return Err(f.error_here("NULL records are written as `\\# length hex` (RFC 3597)")),
        11 => special::wks(f, out)?,
        // HINFO
        13 => {
            f.string(out)?;
            f.string(out)?;
        }
        // MINFO, RP, TALINK
        14 | 17 | 58 => {
            f.name(out)?;
            f.name(out)?;
        }
        // MX, AFSDB, RT, KX, LP
        15 | 18 | 21 | 36 | 107 => {
            f.u16(out, "a preference")?;
            f.name(out)?;
        }
        // TXT, SPF, NINFO, AVC, RESINFO, WALLET
        16 | 99 | 56 | 258 | 261 | 262 => {
            f.string(out)?;
            while f.more() {
                f.string(out)?;
            }
        }
        // X25
        19 => f.string(out)?,
        // ISDN
        20 => {
            f.string(out)?;
            if f.more() {
                f.string(out)?;
            }
        }
        22 => special::nsap(f, out)?,
        // SIG, RRSIG
        24 | 46 => {
            f.rtype(out)?;
            f.algorithm(out)?;
            f.u8(out, "a label count")?;
            f.ttl(out)?;
            f.time(out)?;
            f.time(out)?;
            f.u16(out, "a key tag")?;
            f.name(out)?;
            f.base64_rest(out)?;
        }
        // KEY, DNSKEY, CDNSKEY, RKEY
        25 | 48 | 60 | 57 => {
            f.u16(out, "flags")?;
            f.u8(out, "a protocol")?;
            f.algorithm(out)?;
            // A KEY may carry no key at all (RFC 2535 §3.1.2, NOKEY flags).
            if code != 25 || f.more() {
                f.base64_rest(out)?;
            }
        }
        // PX
        26 => {
            f.u16(out, "a preference")?;
            f.name(out)?;
            f.name(out)?;
        }
        // GPOS
        27 => {
            for _ in 0..3 {
                f.string(out)?;
            }
        }
        28 => out.extend_from_slice(&f.ipv6()?.octets()),
        29 => loc::loc(f, out)?,
        30 => special::nxt(f, out)?,
        // EID, NIMLOC
        31 | 32 => f.hex_rest(out)?,
        // SRV
        33 => {
            f.u16(out, "a priority")?;
            f.u16(out, "a weight")?;
            f.u16(out, "a port")?;
            f.name(out)?;
        }
        34 => special::atma(f, out)?,
        // NAPTR
        35 => {
            f.u16(out, "an order")?;
            f.u16(out, "a preference")?;
            for _ in 0..3 {
                f.string(out)?;
            }
            f.name(out)?;
        }
        // CERT
        37 => {
            f.cert_type(out)?;
            f.u16(out, "a key tag")?;
            f.algorithm(out)?;
            f.base64_rest(out)?;
        }
        38 => special::a6(f, out)?,
        // SINK
        40 => {
            f.u8(out, "a meaning")?;
            f.u8(out, "a coding")?;
            f.u8(out, "a subcoding")?;
            f.base64_rest(out)?;
        }
        42 => special::apl(f, out)?,
        // DS, CDS, TA, DLV
        43 | 59 | 32768 | 32769 => {
            f.u16(out, "a key tag")?;
            f.algorithm(out)?;
            f.digest_type(out)?;
            f.hex_rest(out)?;
        }
        // SSHFP
        44 => {
            f.u8(out, "an algorithm")?;
            f.u8(out, "a fingerprint type")?;
            f.hex_rest(out)?;
        }
        45 => special::ipseckey(f, out)?,
        // NSEC
        47 => {
            f.name(out)?;
            special::type_bitmap(f, out)?;
        }
        // DHCID, OPENPGPKEY
        49 | 61 => f.base64_rest(out)?,
        // NSEC3
        50 => {
            f.u8(out, "a hash algorithm")?;
            f.u8(out, "flags")?;
            f.u16(out, "iterations")?;
            special::salt(f, out)?;
            special::next_hashed(f, out)?;
            special::type_bitmap(f, out)?;
        }
        // NSEC3PARAM
        51 => {
            f.u8(out, "a hash algorithm")?;
            f.u8(out, "flags")?;
            f.u16(out, "iterations")?;
            special::salt(f, out)?;
        }
        // TLSA, SMIMEA
        52 | 53 => {
            f.u8(out, "a certificate usage")?;
            f.u8(out, "a selector")?;
            f.u8(out, "a matching type")?;
            f.hex_rest(out)?;
        }
        55 => special::hip(f, out)?,
        // CSYNC
        62 => {
            f.u32(out, "a serial")?;
            f.u16(out, "flags")?;
            special::type_bitmap(f, out)?;
        }
        // ZONEMD
        63 => {
            f.u32(out, "a serial")?;
            f.u8(out, "a scheme")?;
            f.u8(out, "a hash algorithm")?;
            f.hex_rest(out)?;
        }
        64 | 65 => svcb::svcb(f, out)?,
        // NID, L64
        104 | 106 => {
            f.u16(out, "a preference")?;
            special::ilnp64(f, out)?;
        }
        // L32
        105 => {
            f.u16(out, "a preference")?;
            out.extend_from_slice(&f.ipv4()?.octets());
        }
        108 => special::eui(f, out, 6)?,
        109 => special::eui(f, out, 8)?,
        // URI
        256 => {
            f.u16(out, "a priority")?;
            f.u16(out, "a weight")?;
            f.raw_string(out)?;
        }
        257 => special::caa(f, out)?,
        // DOA
        259 => {
            f.u32(out, "an enterprise")?;
            f.u32(out, "a type")?;
            f.u8(out, "a location")?;
            f.string(out)?;
            if f.peek_is(b"-") {
                f.skip();
            } else {
                f.base64_rest(out)?;
            }
        }
        260 => special::amtrelay(f, out)?,
        // KEYDATA (BIND's managed-keys store)
        65533 => {
            f.time(out)?;
            f.time(out)?;
            f.time(out)?;
            f.u16(out, "flags")?;
            f.u8(out, "a protocol")?;
            f.algorithm(out)?;
            f.base64_rest(out)?;
        }
        _ => {
            return Err(f.error_here(
                "no presentation format is known for this type: write it as `\\# length hex` (RFC 3597)",
            ));
        }
    }
    f.end()
}

/// `\# length hex…` (RFC 3597 §5): the RDATA as given.
fn generic(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    f.skip();
    let length: usize = f.number("an RDATA length")?;
    let start = out.len();
    if length > 0 || f.more() {
        f.hex_rest(out)?;
    }
    let got = out.len() - start;
    if got != length {
        return Err(f.error_at_last(format!(
            "`\\# {length}` announces {length} octets, the hex gives {got}"
        )));
    }
    Ok(())
}
