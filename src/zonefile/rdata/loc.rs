//! LOC (RFC 1876 §3): latitude, longitude, altitude and three sizes.

use super::{FieldError, Fields};

/// `d [m [s]] N|S d [m [s]] E|W alt[m] [size[m] [hp[m] [vp[m]]]]`.
pub(crate) fn loc(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let latitude = angle(f, 90, b'N', b'S')?;
    let longitude = angle(f, 180, b'E', b'W')?;
    let altitude = f.read("an altitude in meters", |raw| {
        let cm = centimeters(raw)?;
        // Altitude is counted from 100,000 m below the WGS 84 spheroid.
        u32::try_from(cm + 10_000_000).map_err(|_| "altitude out of range".to_string())
    })?;
    // Defaults of RFC 1876 §3: size 1 m, horizontal 10 km, vertical 10 m.
    let mut precision = [0x12, 0x16, 0x13];
    for slot in &mut precision {
        if !f.more() {
            break;
        }
        *slot = f.read("a size in meters", |raw| {
            let cm = centimeters(raw)?;
            let cm = u64::try_from(cm).map_err(|_| "a size cannot be negative".to_string())?;
            if cm > 9_000_000_000 {
                return Err("a size is at most 90,000,000 m".into());
            }
            let mut exponent = 0;
            while exponent < 9 && cm >= 10u64.pow(exponent + 1) {
                exponent += 1;
            }
            Ok(((cm / 10u64.pow(exponent)) as u8) << 4 | exponent as u8)
        })?;
    }
    out.push(0);
    out.extend_from_slice(&precision);
    out.extend_from_slice(&latitude.to_be_bytes());
    out.extend_from_slice(&longitude.to_be_bytes());
    out.extend_from_slice(&altitude.to_be_bytes());
    Ok(())
}

/// Degrees, optional minutes and seconds, and a hemisphere letter; as
/// thousandths of a second from 2^31.
fn angle(f: &mut Fields<'_, '_>, max: u64, plus: u8, minus: u8) -> Result<u32, FieldError> {
    let hemisphere = |raw: &[u8]| match raw {
        [c] if c.eq_ignore_ascii_case(&plus) => Some(true),
        [c] if c.eq_ignore_ascii_case(&minus) => Some(false),
        _ => None,
    };
    let degrees: u64 = f.number("degrees")?;
    if degrees > max {
        return Err(f.error_at_last(format!("at most {max} degrees")));
    }
    let mut millis = degrees * 3_600_000;
    let mut north = None;
    for (unit, what) in [(60_000u64, "minutes"), (1, "seconds")] {
        let Some(token) = f.peek() else { break };
        if let Some(h) = hemisphere(&token.text) {
            north = Some(h);
            f.skip();
            break;
        }
        let value = if unit == 1 {
            f.read(what, |raw| fraction(raw, 3))?
        } else {
            f.number::<u64>(what)?
        };
        if value >= 60 * if unit == 1 { 1000 } else { 1 } {
            return Err(f.error_at_last(format!("{what} are below 60")));
        }
        millis += value * unit;
    }
    let north = match north {
        Some(h) => h,
        None => f.read("a hemisphere", |raw| {
            hemisphere(raw).ok_or_else(|| format!("expected {} or {}", plus as char, minus as char))
        })?,
    };
    if millis > max * 3_600_000 {
        return Err(f.error_at_last(format!("more than {max} degrees")));
    }
    let base = 1u64 << 31;
    Ok(if north { base + millis } else { base - millis } as u32)
}

/// A decimal number with at most `digits` fraction digits, scaled by 10^digits.
fn fraction(raw: &[u8], digits: u32) -> Result<u64, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "not ASCII".to_string())?;
    let bad = || format!("`{text}` is not a number with at most {digits} decimals");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > digits as usize
        || !whole
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    let scale = 10u64.pow(digits - (text.split_once('.').map_or(0, |(_, f)| f.len()) as u32));
    Ok(whole * 10u64.pow(digits) + frac * scale)
}

/// Meters with an optional `m` and sign, as centimeters.
fn centimeters(raw: &[u8]) -> Result<i64, String> {
    let raw = raw
        .strip_suffix(b"m")
        .or_else(|| raw.strip_suffix(b"M"))
        .unwrap_or(raw);
    let (negative, raw) = match raw.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let cm = i64::try_from(fraction(raw, 2)?).map_err(|_| "out of range".to_string())?;
    Ok(if negative { -cm } else { cm })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zonefile::lexer::Lexer;

    fn encode(text: &str) -> Vec<u8> {
        let entry = Lexer::new(text.as_bytes()).next().unwrap().unwrap();
        let mut out = Vec::new();
        loc(&mut Fields::new(&entry.tokens, b"\0"), &mut out).unwrap();
        out
    }

    #[test]
    fn rfc_1876_example() {
        // 42 21 54 N 71 06 18 W -24m 30m: RFC 1876 §4's MIT example.
        let wire = encode("42 21 54 N 71 06 18 W -24m 30m\n");
        assert_eq!(wire[..4], [0, 0x33, 0x16, 0x13]);
        let lat = u32::from_be_bytes(wire[4..8].try_into().unwrap());
        assert_eq!(lat, (1 << 31) + (42 * 3600 + 21 * 60 + 54) * 1000);
        let lon = u32::from_be_bytes(wire[8..12].try_into().unwrap());
        assert_eq!(lon, (1 << 31) - (71 * 3600 + 6 * 60 + 18) * 1000);
        let alt = u32::from_be_bytes(wire[12..16].try_into().unwrap());
        assert_eq!(alt, 10_000_000 - 2400);
    }

    #[test]
    fn fractions_scale() {
        assert_eq!(fraction(b"12.748", 3).unwrap(), 12_748);
        assert_eq!(fraction(b"12.7", 3).unwrap(), 12_700);
        assert_eq!(fraction(b"0.00", 2).unwrap(), 0);
        assert!(fraction(b"1.2345", 3).is_err());
    }
}
