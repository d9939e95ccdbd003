//! Types whose presentation format is more than a list of plain fields.

use super::{FieldError, Fields, text};
use crate::zonefile::types;

/// WKS (RFC 1035 §3.4.2): address, protocol, then a bitmap of ports.
pub(crate) fn wks(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    out.extend_from_slice(&f.ipv4()?.octets());
    let protocol = f.read("a protocol", |raw| {
        match raw.to_ascii_lowercase().as_slice() {
            b"tcp" => Ok(6),
            b"udp" => Ok(17),
            _ => text::number::<u8>(raw, "a protocol (a number, tcp or udp)"),
        }
    })?;
    out.push(protocol);
    let mut bitmap: Vec<u8> = Vec::new();
    while f.more() {
        let port: u16 = f.number("a port number")?;
        let (byte, bit) = (usize::from(port / 8), port % 8);
        if bitmap.len() <= byte {
            bitmap.resize(byte + 1, 0);
        }
        bitmap[byte] |= 0x80 >> bit;
    }
    out.extend_from_slice(&bitmap);
    Ok(())
}

/// NSAP (RFC 1706 §5): `0x` then hex digits, dots allowed between them.
pub(crate) fn nsap(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let bytes = f.read("an NSAP address", |raw| {
        let digits = raw
            .strip_prefix(b"0x")
            .or_else(|| raw.strip_prefix(b"0X"))
            .ok_or("an NSAP address starts with 0x")?;
        let digits: Vec<u8> = digits.iter().copied().filter(|&b| b != b'.').collect();
        text::hex(&digits)
    })?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// NXT (RFC 2535 §5.2): next name, then a bitmap of types below 128.
pub(crate) fn nxt(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    f.name(out)?;
    let mut bitmap = [0u8; 16];
    let mut len = 0;
    while f.more() {
        let code = f.read("a record type", |raw| {
            types::rtype(raw)
                .filter(|&c| c < 128)
                .ok_or_else(|| "not a record type below 128".to_string())
        })?;
        let byte = usize::from(code / 8);
        bitmap[byte] |= 0x80 >> (code % 8);
        len = len.max(byte + 1);
    }
    out.extend_from_slice(&bitmap[..len]);
    Ok(())
}

/// ATMA (ATM Forum): an E.164 number after `+`, else an AESA in hex.
pub(crate) fn atma(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let (format, bytes) = f.read("an ATM address", |raw| match raw.strip_prefix(b"+") {
        Some(digits) if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            Ok((1u8, digits.to_vec()))
        }
        Some(_) => Err("an E.164 ATM address is `+` then digits".to_string()),
        None => {
            let digits: Vec<u8> = raw.iter().copied().filter(|&b| b != b'.').collect();
            Ok((0u8, text::hex(&digits)?))
        }
    })?;
    out.push(format);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// A6 (RFC 2874 §3.1.1): prefix length, address suffix, prefix name.
pub(crate) fn a6(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let prefix: u8 = f.number("a prefix length")?;
    if prefix > 128 {
        return Err(f.error_at_last("a prefix length is at most 128"));
    }
    out.push(prefix);
    if prefix < 128 {
        let address = f.ipv6()?.octets();
        let keep = (128 - usize::from(prefix)).div_ceil(8);
        out.extend_from_slice(&address[16 - keep..]);
    }
    if prefix > 0 {
        f.name(out)?;
    }
    Ok(())
}

/// APL (RFC 3123 §5): `[!]afi:address/prefix` items.
pub(crate) fn apl(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    while f.more() {
        let item = f.read("an APL item", |raw| {
            let (negate, raw) = match raw.strip_prefix(b"!") {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let text = std::str::from_utf8(raw).map_err(|_| "not ASCII".to_string())?;
            let bad = || format!("`{text}` is not afi:address/prefix");
            let (afi, rest) = text.split_once(':').ok_or_else(bad)?;
            let (address, prefix) = rest.rsplit_once('/').ok_or_else(bad)?;
            let prefix: u8 = prefix.parse().map_err(|_| bad())?;
            let (afi, mut bytes, max) = match afi {
                "1" => (1u16, text::ipv4(address.as_bytes())?.octets().to_vec(), 32),
                "2" => (2u16, text::ipv6(address.as_bytes())?.octets().to_vec(), 128),
                _ => return Err(format!("address family {afi}: only 1 (IPv4) and 2 (IPv6)")),
            };
            if prefix > max {
                return Err(format!("prefix /{prefix} is longer than the address"));
            }
            // Trailing zero octets are left out (RFC 3123 §4).
            while bytes.last() == Some(&0) {
                bytes.pop();
            }
            Ok((afi, prefix, negate, bytes))
        })?;
        let (afi, prefix, negate, bytes) = item;
        out.extend_from_slice(&afi.to_be_bytes());
        out.push(prefix);
        out.push(bytes.len() as u8 | if negate { 0x80 } else { 0 });
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

/// A gateway or relay of IPSECKEY and AMTRELAY, by its type.
fn gateway(f: &mut Fields<'_, '_>, out: &mut Vec<u8>, kind: u8) -> Result<(), FieldError> {
    match kind {
        0 => {
            f.read("`.` (no gateway)", |raw| match raw {
                b"." => Ok(()),
                _ => Err("gateway type 0 takes `.`".to_string()),
            })?;
        }
        1 => out.extend_from_slice(&f.ipv4()?.octets()),
        2 => out.extend_from_slice(&f.ipv6()?.octets()),
        3 => f.name(out)?,
        _ => return Err(f.error_at_last("gateway type is 0, 1, 2 or 3")),
    }
    Ok(())
}

/// IPSECKEY (RFC 4025 §3.1).
pub(crate) fn ipseckey(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    f.u8(out, "a precedence")?;
    let kind: u8 = f.number("a gateway type")?;
    out.push(kind);
    f.u8(out, "an algorithm")?;
    gateway(f, out, kind)?;
    // BIND requires the key, though RFC 4025 §2.6 lets it be empty.
    f.base64_rest(out)
}

/// AMTRELAY (RFC 8777 §4.3): precedence, discovery bit, type, relay.
pub(crate) fn amtrelay(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    f.u8(out, "a precedence")?;
    let discovery: u8 = f.number("a discovery-optional bit")?;
    if discovery > 1 {
        return Err(f.error_at_last("the discovery-optional bit is 0 or 1"));
    }
    let kind: u8 = f.number("a relay type")?;
    if kind > 127 {
        return Err(f.error_at_last("a relay type is at most 127"));
    }
    out.push(discovery << 7 | kind);
    if kind <= 3 {
        gateway(f, out, kind)?;
    } else {
        f.hex_rest(out)?;
    }
    Ok(())
}

/// NSEC/NSEC3/CSYNC type bitmap (RFC 4034 §4.1.2): windows of up to 32 octets.
pub(crate) fn type_bitmap(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let mut codes = Vec::new();
    while f.more() {
        codes.push(f.read("a record type", |raw| {
            types::rtype(raw).ok_or_else(|| "unknown record type".to_string())
        })?);
    }
    codes.sort_unstable();
    codes.dedup();
    let mut i = 0;
    while i < codes.len() {
        let window = codes[i] >> 8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < codes.len() && codes[i] >> 8 == window {
            let low = usize::from(codes[i] & 0xff);
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window as u8);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    Ok(())
}

/// NSEC3 salt (RFC 5155 §3.3): hex or `-` for none, length-prefixed.
pub(crate) fn salt(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let bytes = f.read("a salt", |raw| match raw {
        b"-" => Ok(Vec::new()),
        _ => text::hex(raw).and_then(|b| match b.len() {
            0..=255 => Ok(b),
            _ => Err("a salt is at most 255 octets".into()),
        }),
    })?;
    out.push(bytes.len() as u8);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// NSEC3 next hashed owner (RFC 5155 §3.3): base32hex, length-prefixed.
pub(crate) fn next_hashed(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let bytes = f.read("a next hashed owner name", text::base32hex)?;
    if bytes.is_empty() || bytes.len() > 255 {
        return Err(f.error_at_last("a hashed owner name is 1 to 255 octets"));
    }
    out.push(bytes.len() as u8);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// HIP (RFC 8005 §4): algorithm, HIT (hex), public key (base64), servers.
pub(crate) fn hip(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let algorithm: u8 = f.number("a public key algorithm")?;
    let hit = f.read("a host identity tag", text::hex)?;
    let key = f.read("a public key", text::base64)?;
    let (Ok(hit_len), Ok(key_len)) = (u8::try_from(hit.len()), u16::try_from(key.len())) else {
        return Err(f.error_at_last("host identity tag or key too long"));
    };
    out.push(hit_len);
    out.push(algorithm);
    out.extend_from_slice(&key_len.to_be_bytes());
    out.extend_from_slice(&hit);
    out.extend_from_slice(&key);
    while f.more() {
        f.name(out)?;
    }
    Ok(())
}

/// A 64-bit ILNP locator or node id (RFC 6742 §2.3): four groups of 1–4 hex digits.
pub(crate) fn ilnp64(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let groups = f.read("a 64-bit identifier (xxxx:xxxx:xxxx:xxxx)", |raw| {
        let text = std::str::from_utf8(raw).map_err(|_| "not ASCII".to_string())?;
        let groups: Vec<&str> = text.split(':').collect();
        let bad = || format!("`{text}` is not four groups of 1-4 hex digits");
        if groups.len() != 4 {
            return Err(bad());
        }
        groups
            .iter()
            .map(|g| match g.len() {
                1..=4 => u16::from_str_radix(g, 16).map_err(|_| bad()),
                _ => Err(bad()),
            })
            .collect::<Result<Vec<u16>, String>>()
    })?;
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(())
}

/// EUI48/EUI64 (RFC 7043 §3.2, §4.2): hex pairs joined by `-`.
pub(crate) fn eui(
    f: &mut Fields<'_, '_>,
    out: &mut Vec<u8>,
    octets: usize,
) -> Result<(), FieldError> {
    let bytes = f.read("an EUI address (xx-xx-…)", |raw| {
        let pairs: Vec<&[u8]> = raw.split(|&b| b == b'-').collect();
        if pairs.len() != octets || pairs.iter().any(|p| p.len() != 2) {
            return Err(format!("expected {octets} hex pairs joined by `-`"));
        }
        text::hex(&pairs.concat())
    })?;
    out.extend_from_slice(&bytes);
    Ok(())
}

/// CAA (RFC 8659 §4.1.1): flags, tag, value (no length prefix).
pub(crate) fn caa(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    f.u8(out, "flags")?;
    let tag = f.read("a tag", |raw| {
        if raw.is_empty() || raw.len() > 255 || !raw.iter().all(u8::is_ascii_alphanumeric) {
            return Err("a CAA tag is 1-255 letters and digits".to_string());
        }
        Ok(raw.to_vec())
    })?;
    out.push(tag.len() as u8);
    out.extend_from_slice(&tag);
    f.raw_string(out)
}
