//! BIND's `$GENERATE range lhs [ttl] [class] type rhs`: one record per value
//! of the range, `$` in the owner and the RDATA replaced by the value.
//!
//! `${offset[,width[,base]]}` adds an offset, pads to a width and picks a
//! base: `d` decimal, `o` octal, `x`/`X` hex, `n`/`N` reversed nibbles
//! (`4.3.2.1` for 0x1234, as in `ip6.arpa`). `\$` is a literal `$`.

use std::borrow::Cow;

use super::{lexer::Token, text, types};

/// The range of a `$GENERATE`: `start-stop[/step]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    start: u64,
    stop: u64,
    step: u64,
}

impl Range {
    pub(crate) fn parse(raw: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(raw).map_err(|_| "not ASCII".to_string())?;
        let bad = || "a range is start-stop or start-stop/step".to_string();
        let (span, step) = text.split_once('/').unwrap_or((text, "1"));
        let (start, stop) = span.split_once('-').ok_or_else(bad)?;
        let [start, stop, step] = [start, stop, step].map(|n| n.parse::<u32>().map(u64::from));
        let (start, stop, step) = (
            start.map_err(|_| bad())?,
            stop.map_err(|_| bad())?,
            step.map_err(|_| bad())?,
        );
        if start > stop || step == 0 {
            return Err("a range needs start <= stop and a step above 0".into());
        }
        Ok(Self { start, stop, step })
    }

    pub(crate) fn len(&self) -> usize {
        ((self.stop - self.start) / self.step + 1) as usize
    }

    pub(crate) fn values(self) -> impl Iterator<Item = u64> {
        (self.start..=self.stop).step_by(self.step as usize)
    }
}

/// The record entries of a `$GENERATE` whose tokens (after the directive)
/// are `args`, one per value of the range.
pub(crate) fn expand<'t, 'a>(
    args: &'t [Token<'a>],
    range: Range,
) -> impl Iterator<Item = Result<Vec<Token<'a>>, (usize, String)>> + 't {
    // Tokens after the type are the RDATA, substituted like the owner.
    let rtype_at = args
        .iter()
        .skip(1)
        .position(|t| !text::looks_like_ttl(&t.text) && types::class(&t.text).is_none())
        .map_or(args.len(), |i| i + 1);
    range.values().map(move |value| {
        args.iter()
            .enumerate()
            .map(|(i, token)| {
                if i == 0 || i > rtype_at {
                    let text = substitute(&token.text, value).map_err(|m| (i, m))?;
                    Ok(Token {
                        text: Cow::Owned(text),
                        ..token.clone()
                    })
                } else {
                    Ok(token.clone())
                }
            })
            .collect()
    })
}

fn substitute(raw: &[u8], value: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len() + 8);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\\' if i + 1 < raw.len() => {
                out.extend_from_slice(&raw[i..i + 2]);
                i += 2;
            }
            b'$' if raw.get(i + 1) == Some(&b'{') => {
                let end = raw[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or("`${` is not closed by `}`")?;
                let spec = std::str::from_utf8(&raw[i + 2..i + end])
                    .map_err(|_| "bad `${offset,width,base}`".to_string())?;
                format(spec, value, &mut out)?;
                i += end + 1;
            }
            b'$' => {
                out.extend_from_slice(value.to_string().as_bytes());
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn format(spec: &str, value: u64, out: &mut Vec<u8>) -> Result<(), String> {
    let bad = || format!("bad `${{{spec}}}`: expected offset[,width[,base]]");
    let mut parts = spec.split(',');
    let offset: i64 = parts
        .next()
        .unwrap_or("0")
        .trim()
        .parse()
        .map_err(|_| bad())?;
    let width: usize = match parts.next() {
        Some(w) => w.trim().parse().map_err(|_| bad())?,
        None => 0,
    };
    let base = parts.next().unwrap_or("d").trim();
    if parts.next().is_some() {
        return Err(bad());
    }
    let value = u64::try_from(value as i64 + offset)
        .map_err(|_| "value below 0 after the offset".to_string())?;
    let digits = match base {
        "d" => format!("{value:0width$}"),
        "o" => format!("{value:0width$o}"),
        "x" => format!("{value:0width$x}"),
        "X" => format!("{value:0width$X}"),
        "n" | "N" => nibbles(value, width, base == "N"),
        _ => return Err(format!("base `{base}`: expected d, o, x, X, n or N")),
    };
    out.extend_from_slice(digits.as_bytes());
    Ok(())
}

/// Reversed nibbles joined by dots, as for `ip6.arpa`: least significant
/// first. As in BIND, `width` counts characters, dots included, so an even
/// width leaves a final dot.
fn nibbles(mut value: u64, mut width: usize, upper: bool) -> String {
    let mut out = String::new();
    loop {
        let digit = std::char::from_digit((value & 0xf) as u32, 16).unwrap_or('0');
        out.push(if upper {
            digit.to_ascii_uppercase()
        } else {
            digit
        });
        value >>= 4;
        width = width.saturating_sub(1);
        if width > 0 || value != 0 {
            out.push('.');
            width = width.saturating_sub(1);
        }
        if value == 0 && width == 0 {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutions() {
        assert_eq!(substitute(b"host-$", 7).unwrap(), b"host-7");
        assert_eq!(substitute(b"h${10,3,d}", 1).unwrap(), b"h011");
        assert_eq!(substitute(b"${0,4,x}", 255).unwrap(), b"00ff");
        assert_eq!(substitute(b"${0,0,n}", 0x12).unwrap(), b"2.1");
        assert_eq!(substitute(b"${0,3,N}", 0xa).unwrap(), b"A.0");
        assert_eq!(substitute(b"${0,2,n}", 0).unwrap(), b"0.");
        assert_eq!(substitute(b"a\\$b", 1).unwrap(), b"a\\$b");
        assert!(substitute(b"${1", 1).is_err());
    }

    #[test]
    fn ranges() {
        let r = Range::parse(b"1-10/3").unwrap();
        assert_eq!(r.values().collect::<Vec<_>>(), [1, 4, 7, 10]);
        assert_eq!(r.len(), 4);
        assert!(Range::parse(b"5-1").is_err());
        assert!(Range::parse(b"1-2/0").is_err());
    }
}
