//! Presentation-format fields (RFC 1035 §5.1 and the RFCs of each type):
//! names, character strings, numbers, TTLs, times and binary encodings.
//!
//! Every function reads raw token text (escapes not yet decoded) and returns
//! wire bytes or a value; the error says what was expected, never echoing
//! more than the token itself.

use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::{BASE32HEX_NOPAD, BASE64, HEXLOWER_PERMISSIVE};

/// Wire form of a name is at most 255 octets, a label at most 63 (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
const MAX_LABEL: usize = 63;

/// Decodes `\DDD` and `\X` escapes (RFC 1035 §5.1) of a token.
pub(crate) fn unescape(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let (byte, len) = escaped(raw, i)?;
        out.push(byte);
        i += len;
    }
    Ok(out)
}

/// The byte at `raw[i]` (an escape or itself) and how many bytes it took.
fn escaped(raw: &[u8], i: usize) -> Result<(u8, usize), String> {
    if raw[i] != b'\\' {
        return Ok((raw[i], 1));
    }
    match raw.get(i + 1) {
        None => Err("`\\` at the end of a token escapes nothing".into()),
        Some(d) if d.is_ascii_digit() => {
            let digits = raw.get(i + 1..i + 4).unwrap_or_default();
            if digits.len() < 3 || !digits.iter().all(u8::is_ascii_digit) {
                return Err("`\\DDD` needs three decimal digits".into());
            }
            let value = digits
                .iter()
                .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
            u8::try_from(value)
                .map(|b| (b, 4))
                .map_err(|_| format!("`\\{value}` is not a byte (at most \\255)"))
        }
        Some(&c) => Ok((c, 2)),
    }
}

/// A name in uncompressed wire form, ASCII case kept: `@` is `origin`, a
/// name without a final dot is relative to `origin`.
pub(crate) fn name(raw: &[u8], origin: &[u8]) -> Result<Vec<u8>, String> {
    if raw == b"@" {
        return Ok(origin.to_vec());
    }
    if raw == b"." {
        return Ok(vec![0]);
    }
    let mut wire = Vec::with_capacity(raw.len() + 2 + origin.len());
    let mut label_start = 0;
    wire.push(0);
    let mut i = 0;
    let mut absolute = false;
    while i < raw.len() {
        if raw[i] == b'.' {
            close_label(&mut wire, label_start)?;
            if i + 1 == raw.len() {
                absolute = true;
            }
            label_start = wire.len();
            wire.push(0);
            i += 1;
            continue;
        }
        let (byte, len) = escaped(raw, i)?;
        wire.push(byte);
        i += len;
    }
    if absolute {
        // The placeholder of the label after the final dot is the root.
        wire.truncate(label_start);
        wire.push(0);
    } else {
        close_label(&mut wire, label_start)?;
        wire.extend_from_slice(origin);
    }
    if wire.len() > MAX_NAME {
        return Err(format!("name is {} octets long, more than 255", wire.len()));
    }
    Ok(wire)
}

fn close_label(wire: &mut [u8], start: usize) -> Result<(), String> {
    let len = wire.len() - start - 1;
    if len == 0 {
        return Err("empty label (two dots in a row, or a leading dot)".into());
    }
    if len > MAX_LABEL {
        return Err(format!("label of {len} octets, more than 63"));
    }
    wire[start] = len as u8;
    Ok(())
}

/// The labels of a wire-form name (root excluded).
pub(crate) fn labels(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let len = usize::from(*wire.get(pos)?);
        if len == 0 {
            return None;
        }
        let label = wire.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
        Some(label)
    })
}

/// Whether wire name `name` is `zone` or below it (ASCII case ignored).
pub(crate) fn is_subdomain(name: &[u8], zone: &[u8]) -> bool {
    if name.len() < zone.len() || !name[name.len() - zone.len()..].eq_ignore_ascii_case(zone) {
        return false;
    }
    // The suffix must start at a label boundary.
    let boundary = name.len() - zone.len();
    let mut pos = 0;
    while pos < boundary {
        pos += 1 + usize::from(name[pos]);
    }
    pos == boundary
}

/// A character string: escapes decoded, at most 255 octets.
pub(crate) fn char_string(raw: &[u8]) -> Result<Vec<u8>, String> {
    let bytes = unescape(raw)?;
    if bytes.len() > 255 {
        return Err(format!(
            "character string of {} octets, more than 255",
            bytes.len()
        ));
    }
    Ok(bytes)
}

fn ascii(raw: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(raw).map_err(|_| "not ASCII text".to_string())
}

/// An unsigned decimal number that fits `T`.
pub(crate) fn number<T: TryFrom<u64>>(raw: &[u8], what: &str) -> Result<T, String> {
    let text = ascii(raw)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected {what} (a decimal number)"));
    }
    text.parse::<u64>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("{what} {text} is out of range"))
}

/// A TTL or time period: seconds, or BIND's units (`1h30m`, `2W`).
pub(crate) fn ttl(raw: &[u8]) -> Result<u32, String> {
    let text = ascii(raw)?;
    if text.is_empty() || !text.as_bytes()[0].is_ascii_digit() {
        return Err("expected a TTL (seconds, or units like 1h30m)".into());
    }
    let mut total: u64 = 0;
    let mut value: Option<u64> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            value = Some(value.unwrap_or(0) * 10 + u64::from(d));
            if value > Some(u64::from(u32::MAX)) {
                return Err(format!("TTL {text} is out of range"));
            }
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'w' => 604_800,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("bad TTL unit `{c}` (w, d, h, m or s)")),
        };
        let Some(v) = value.take() else {
            return Err("a TTL unit needs a number before it".into());
        };
        total += v * unit;
    }
    total += value.unwrap_or(0);
    u32::try_from(total).map_err(|_| format!("TTL {text} is out of range"))
}

/// Whether a token reads as a TTL (so it is not a class or a type).
pub(crate) fn looks_like_ttl(raw: &[u8]) -> bool {
    raw.first().is_some_and(u8::is_ascii_digit) && ttl(raw).is_ok()
}

/// A DNSSEC time: `YYYYMMDDHHmmSS` (UTC) or seconds since 1970 (RFC 4034 §3.2).
pub(crate) fn time(raw: &[u8]) -> Result<u32, String> {
    let text = ascii(raw)?;
    if text.len() != 14 {
        return number::<u32>(raw, "a time (YYYYMMDDHHmmSS or seconds)");
    }
    let field = |r: std::ops::Range<usize>| -> Result<i64, String> {
        text[r]
            .parse::<i64>()
            .map_err(|_| "expected a time as YYYYMMDDHHmmSS".to_string())
    };
    let (y, mo, d) = (field(0..4)?, field(4..6)?, field(6..8)?);
    let (h, mi, s) = (field(8..10)?, field(10..12)?, field(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(format!("{text} is not a valid date and time"));
    }
    let seconds = days_from_civil(y, mo, d) * 86_400 + h * 3_600 + mi * 60 + s;
    // Serial number arithmetic (RFC 4034 §3.1.5): the low 32 bits.
    Ok(seconds.rem_euclid(1 << 32) as u32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn ipv4(raw: &[u8]) -> Result<Ipv4Addr, String> {
    ascii(raw)?
        .parse()
        .map_err(|_| "expected an IPv4 address".into())
}

pub(crate) fn ipv6(raw: &[u8]) -> Result<Ipv6Addr, String> {
    ascii(raw)?
        .parse()
        .map_err(|_| "expected an IPv6 address".into())
}

/// Base64 (RFC 4648 §4), the tokens concatenated.
pub(crate) fn base64(joined: &[u8]) -> Result<Vec<u8>, String> {
    BASE64
        .decode(joined)
        .map_err(|e| format!("bad base64: {e}"))
}

/// Hexadecimal, upper or lower case, the tokens concatenated.
pub(crate) fn hex(joined: &[u8]) -> Result<Vec<u8>, String> {
    HEXLOWER_PERMISSIVE
        .decode(joined)
        .map_err(|e| format!("bad hexadecimal: {e}"))
}

/// Base32 with the extended hex alphabet, no padding (RFC 4648 §7; NSEC3).
pub(crate) fn base32hex(raw: &[u8]) -> Result<Vec<u8>, String> {
    BASE32HEX_NOPAD
        .decode(&raw.to_ascii_uppercase())
        .map_err(|e| format!("bad base32hex: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &[u8] = b"\x04corp\x03lab\x00";

    #[test]
    fn names_are_relative_absolute_or_the_origin() {
        assert_eq!(name(b"www", ORIGIN).unwrap(), b"\x03www\x04corp\x03lab\x00");
        assert_eq!(name(b"WWW.x.", ORIGIN).unwrap(), b"\x03WWW\x01x\x00");
        assert_eq!(name(b"@", ORIGIN).unwrap(), ORIGIN);
        assert_eq!(name(b".", ORIGIN).unwrap(), b"\x00");
        assert_eq!(name(b"a\\.b\\065.", ORIGIN).unwrap(), b"\x04a.bA\x00");
        assert!(name(b"a..b", ORIGIN).is_err());
        assert!(name(&[b'x'; 64], ORIGIN).is_err());
        assert!(name(b"\\256", ORIGIN).is_err());
    }

    #[test]
    fn subdomains_follow_label_boundaries() {
        let www = name(b"www", ORIGIN).unwrap();
        assert!(is_subdomain(&www, ORIGIN));
        assert!(is_subdomain(ORIGIN, ORIGIN));
        assert!(is_subdomain(b"\x05xcorp\x03lab\x00", b"\x03lab\x00"));
        assert!(!is_subdomain(b"\x04xlab\x00", b"\x03lab\x00"));
        // The bytes match, but not from a label boundary.
        assert!(!is_subdomain(b"\x04a\x03ab\x00", b"\x03ab\x00"));
    }

    #[test]
    fn escapes_keep_bytes() {
        assert_eq!(char_string(b"\\195\\133LAND").unwrap(), b"\xc3\x85LAND");
        assert_eq!(char_string(b"a\\\"b").unwrap(), b"a\"b");
        assert!(char_string(&[b'x'; 256]).is_err());
    }

    #[test]
    fn ttls_take_units() {
        assert_eq!(ttl(b"300").unwrap(), 300);
        assert_eq!(ttl(b"1h30m").unwrap(), 5400);
        assert_eq!(ttl(b"1W").unwrap(), 604_800);
        assert!(ttl(b"IN").is_err());
        assert!(ttl(b"4294967296").is_err());
    }

    #[test]
    fn times_are_utc_dates_or_seconds() {
        assert_eq!(time(b"19700101000000").unwrap(), 0);
        assert_eq!(time(b"20260101000000").unwrap(), 1_767_225_600);
        assert_eq!(time(b"12345").unwrap(), 12345);
        assert!(time(b"20261301000000").is_err());
    }
}
