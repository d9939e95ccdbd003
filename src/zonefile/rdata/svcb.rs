//! SVCB and HTTPS (RFC 9460 §2.1): priority, target, `key=value` parameters.

use super::{FieldError, Fields, text};

const KEYS: &[(&str, u16)] = &[
    ("mandatory", 0),
    ("alpn", 1),
    ("no-default-alpn", 2),
    ("port", 3),
    ("ipv4hint", 4),
    ("ech", 5),
    ("ipv6hint", 6),
    ("dohpath", 7),
    ("ohttp", 8),
];

pub(crate) fn svcb(f: &mut Fields<'_, '_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    f.u16(out, "a priority")?;
    f.name(out)?;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    while f.more() {
        let token = f.take("a parameter")?;
        let (key, inline) = match token.text.iter().position(|&b| b == b'=') {
            Some(eq) => (&token.text[..eq], Some(&token.text[eq + 1..])),
            None => (&token.text[..], None),
        };
        let key = key_code(key).map_err(|m| f.error_at_last(m))?;
        // `key="quoted value"` arrives as `key=` and a joined quoted token.
        let value: Option<Vec<u8>> = match inline {
            Some(v) if v.is_empty() && f.peek().is_some_and(|t| t.joined && t.quoted) => {
                Some(f.take("a value")?.text.to_vec())
            }
            Some(v) => Some(v.to_vec()),
            None => None,
        };
        let wire = param(key, value.as_deref()).map_err(|m| f.error_at_last(m))?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(f.error_at_last("a parameter is given twice"));
        }
        params.push((key, wire));
    }
    // On the wire parameters are in increasing key order (RFC 9460 §2.2).
    params.sort_by_key(|(k, _)| *k);
    for (key, value) in params {
        let Ok(len) = u16::try_from(value.len()) else {
            return Err(f.error_here("parameter value too long"));
        };
        out.extend_from_slice(&key.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&value);
    }
    Ok(())
}

fn key_code(raw: &[u8]) -> Result<u16, String> {
    if let Some(&(_, code)) = KEYS.iter().find(|(n, _)| n.as_bytes() == raw) {
        return Ok(code);
    }
    raw.strip_prefix(b"key")
        .and_then(|digits| text::number::<u16>(digits, "a key").ok())
        .ok_or_else(|| format!("unknown SvcParamKey `{}`", String::from_utf8_lossy(raw)))
}

/// Splits a value list at unescaped commas (RFC 9460 Appendix A.1),
/// each item unescaped.
fn items(raw: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i <= raw.len() {
        if i == raw.len() || raw[i] == b',' {
            out.push(text::unescape(&raw[start..i])?);
            start = i + 1;
        } else if raw[i] == b'\\' {
            i += 1;
        }
        i += 1;
    }
    Ok(out)
}

fn param(key: u16, value: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let need = || value.ok_or_else(|| "this parameter needs a value".to_string());
    let mut out = Vec::new();
    match key {
        0 => {
            let mut keys = items(need()?)?
                .iter()
                .map(|k| key_code(k))
                .collect::<Result<Vec<u16>, _>>()?;
            keys.sort_unstable();
            for k in keys {
                out.extend_from_slice(&k.to_be_bytes());
            }
        }
        1 => {
            for id in items(need()?)? {
                if id.is_empty() || id.len() > 255 {
                    return Err("an ALPN id is 1 to 255 octets".into());
                }
                out.push(id.len() as u8);
                out.extend_from_slice(&id);
            }
        }
        2 | 8 => {
            if value.is_some_and(|v| !v.is_empty()) {
                return Err("this parameter takes no value".into());
            }
        }
        3 => out.extend_from_slice(&text::number::<u16>(need()?, "a port")?.to_be_bytes()),
        4 => {
            for a in items(need()?)? {
                out.extend_from_slice(&text::ipv4(&a)?.octets());
            }
        }
        5 => out = text::base64(need()?)?,
        6 => {
            for a in items(need()?)? {
                out.extend_from_slice(&text::ipv6(&a)?.octets());
            }
        }
        _ => out = text::unescape(value.unwrap_or_default())?,
    }
    Ok(out)
}
