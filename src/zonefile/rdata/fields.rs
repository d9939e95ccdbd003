//! A cursor over the RDATA tokens of one entry.

use super::text;
use crate::zonefile::{lexer::Token, types};

/// A fault in the RDATA: the message and the token to blame (`None`: the
/// RDATA ended before a field it needs).
#[derive(Debug)]
pub(crate) struct FieldError {
    pub(crate) token: Option<usize>,
    pub(crate) message: String,
}

pub(crate) struct Fields<'t, 'a> {
    tokens: &'t [Token<'a>],
    next: usize,
    origin: &'t [u8],
}

impl<'t, 'a> Fields<'t, 'a> {
    /// `tokens` are the RDATA tokens; relative names are completed with
    /// `origin` (wire form).
    pub(crate) fn new(tokens: &'t [Token<'a>], origin: &'t [u8]) -> Self {
        Self {
            tokens,
            next: 0,
            origin,
        }
    }

    pub(crate) fn more(&self) -> bool {
        self.next < self.tokens.len()
    }

    pub(crate) fn peek(&self) -> Option<&'t Token<'a>> {
        self.tokens.get(self.next)
    }

    pub(crate) fn peek_is(&self, word: &[u8]) -> bool {
        self.peek().is_some_and(|t| !t.quoted && *t.text == *word)
    }

    pub(crate) fn skip(&mut self) {
        self.next += 1;
    }

    /// The next token, or a fault saying which field is missing.
    pub(crate) fn take(&mut self, what: &str) -> Result<&'t Token<'a>, FieldError> {
        match self.tokens.get(self.next) {
            Some(token) => {
                self.next += 1;
                Ok(token)
            }
            None => Err(FieldError {
                token: None,
                message: format!("missing {what}"),
            }),
        }
    }

    /// A fault on the token just taken.
    pub(crate) fn error_at_last(&self, message: impl Into<String>) -> FieldError {
        FieldError {
            token: self.next.checked_sub(1),
            message: message.into(),
        }
    }

    /// A fault on the next token (or the end of the RDATA).
    pub(crate) fn error_here(&self, message: impl Into<String>) -> FieldError {
        FieldError {
            token: self.more().then_some(self.next),
            message: message.into(),
        }
    }

    /// Applies `read` to the next token, blaming that token on failure.
    pub(crate) fn read<T>(
        &mut self,
        what: &str,
        read: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, FieldError> {
        let token = self.take(what)?;
        read(&token.text).map_err(|m| self.error_at_last(m))
    }

    /// Every token is used.
    pub(crate) fn end(&self) -> Result<(), FieldError> {
        match self.more() {
            true => Err(self.error_here("unexpected text after the RDATA")),
            false => Ok(()),
        }
    }

    pub(crate) fn number<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, FieldError> {
        self.read(what, |raw| text::number(raw, what))
    }

    pub(crate) fn u8(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), FieldError> {
        out.push(self.number::<u8>(what)?);
        Ok(())
    }

    pub(crate) fn u16(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), FieldError> {
        out.extend_from_slice(&self.number::<u16>(what)?.to_be_bytes());
        Ok(())
    }

    pub(crate) fn u32(&mut self, out: &mut Vec<u8>, what: &str) -> Result<(), FieldError> {
        out.extend_from_slice(&self.number::<u32>(what)?.to_be_bytes());
        Ok(())
    }

    pub(crate) fn ttl(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        out.extend_from_slice(&self.read("a time period", text::ttl)?.to_be_bytes());
        Ok(())
    }

    pub(crate) fn time(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        out.extend_from_slice(&self.read("a time", text::time)?.to_be_bytes());
        Ok(())
    }

    pub(crate) fn ipv4(&mut self) -> Result<std::net::Ipv4Addr, FieldError> {
        self.read("an IPv4 address", text::ipv4)
    }

    pub(crate) fn ipv6(&mut self) -> Result<std::net::Ipv6Addr, FieldError> {
        self.read("an IPv6 address", text::ipv6)
    }

    /// A domain name, uncompressed, case kept.
    pub(crate) fn name(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        let origin = self.origin;
        let wire = self.read("a domain name", |raw| text::name(raw, origin))?;
        out.extend_from_slice(&wire);
        Ok(())
    }

    /// A length-prefixed character string.
    pub(crate) fn string(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        let bytes = self.read("a character string", text::char_string)?;
        out.push(bytes.len() as u8);
        out.extend_from_slice(&bytes);
        Ok(())
    }

    /// A string without a length prefix, running to the end of the RDATA
    /// (URI's target, CAA's value).
    pub(crate) fn raw_string(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        let bytes = self.read("a string", text::unescape)?;
        out.extend_from_slice(&bytes);
        Ok(())
    }

    /// The remaining tokens joined, then decoded (base64 and hex may be
    /// split by blanks).
    fn rest(
        &mut self,
        what: &str,
        out: &mut Vec<u8>,
        decode: fn(&[u8]) -> Result<Vec<u8>, String>,
    ) -> Result<(), FieldError> {
        if !self.more() {
            return Err(self.error_here(format!("missing {what}")));
        }
        let first = self.next;
        let joined: Vec<u8> = self.tokens[first..]
            .iter()
            .flat_map(|t| t.text.iter().copied())
            .collect();
        self.next = self.tokens.len();
        let bytes = decode(&joined).map_err(|message| FieldError {
            token: Some(first),
            message,
        })?;
        out.extend_from_slice(&bytes);
        Ok(())
    }

    pub(crate) fn base64_rest(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        self.rest("base64 data", out, text::base64)
    }

    pub(crate) fn hex_rest(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        self.rest("hexadecimal data", out, text::hex)
    }

    /// A type mnemonic or `TYPEn`.
    pub(crate) fn rtype(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        let code = self.read("a record type", |raw| {
            types::rtype(raw).ok_or_else(|| "unknown record type".to_string())
        })?;
        out.extend_from_slice(&code.to_be_bytes());
        Ok(())
    }

    /// A DNSSEC algorithm, number or mnemonic.
    pub(crate) fn algorithm(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        out.push(self.read("an algorithm", |raw| {
            types::algorithm(raw).map_or_else(|| text::number(raw, "an algorithm"), Ok)
        })?);
        Ok(())
    }

    pub(crate) fn digest_type(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        out.push(self.read("a digest type", |raw| {
            types::digest_type(raw).map_or_else(|| text::number(raw, "a digest type"), Ok)
        })?);
        Ok(())
    }

    pub(crate) fn cert_type(&mut self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        let code = self.read("a certificate type", |raw| {
            types::cert_type(raw).map_or_else(|| text::number(raw, "a certificate type"), Ok)
        })?;
        out.extend_from_slice(&code.to_be_bytes());
        Ok(())
    }
}
