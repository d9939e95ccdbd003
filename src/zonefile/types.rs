//! Type and class mnemonics as BIND 9 knows them, and `TYPEn`/`CLASSn`
//! (RFC 3597 §5).

/// Every record type BIND 9.18 reads from a zone file, by mnemonic.
pub(crate) const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("MD", 3),
    ("MF", 4),
    ("CNAME", 5),
    ("SOA", 6),
    ("MB", 7),
    ("MG", 8),
    ("MR", 9),
    ("NULL", 10),
    ("WKS", 11),
    ("PTR", 12),
    ("HINFO", 13),
    ("MINFO", 14),
    ("MX", 15),
    ("TXT", 16),
    ("RP", 17),
    ("AFSDB", 18),
    ("X25", 19),
    ("ISDN", 20),
    ("RT", 21),
    ("NSAP", 22),
    ("NSAP-PTR", 23),
    ("SIG", 24),
    ("KEY", 25),
    ("PX", 26),
    ("GPOS", 27),
    ("AAAA", 28),
    ("LOC", 29),
    ("NXT", 30),
    ("EID", 31),
    ("NIMLOC", 32),
    ("SRV", 33),
    ("ATMA", 34),
    ("NAPTR", 35),
    ("KX", 36),
    ("CERT", 37),
    ("A6", 38),
    ("DNAME", 39),
    ("SINK", 40),
    ("OPT", 41),
    ("APL", 42),
    ("DS", 43),
    ("SSHFP", 44),
    ("IPSECKEY", 45),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("DHCID", 49),
    ("NSEC3", 50),
    ("NSEC3PARAM", 51),
    ("TLSA", 52),
    ("SMIMEA", 53),
    ("HIP", 55),
    ("NINFO", 56),
    ("RKEY", 57),
    ("TALINK", 58),
    ("CDS", 59),
    ("CDNSKEY", 60),
    ("OPENPGPKEY", 61),
    ("CSYNC", 62),
    ("ZONEMD", 63),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("SPF", 99),
    ("NID", 104),
    ("L32", 105),
    ("L64", 106),
    ("LP", 107),
    ("EUI48", 108),
    ("EUI64", 109),
    ("TKEY", 249),
    ("TSIG", 250),
    ("IXFR", 251),
    ("AXFR", 252),
    ("MAILB", 253),
    ("MAILA", 254),
    ("ANY", 255),
    ("URI", 256),
    ("CAA", 257),
    ("AVC", 258),
    ("DOA", 259),
    ("AMTRELAY", 260),
    ("RESINFO", 261),
    ("WALLET", 262),
    ("TA", 32768),
    ("DLV", 32769),
    ("KEYDATA", 65533),
];

/// Types that only exist in messages (RFC 6895 §3.1): never zone data.
pub(crate) fn is_meta(code: u16) -> bool {
    matches!(code, 41 | 128..=255)
}

/// A type mnemonic or `TYPEn`, ASCII case ignored.
pub(crate) fn rtype(word: &[u8]) -> Option<u16> {
    if let Some(code) = numbered(word, b"TYPE") {
        return Some(code);
    }
    TYPES
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(word))
        .map(|&(_, code)| code)
}

/// The mnemonic of a type, or `TYPEn`.
pub(crate) fn rtype_name(code: u16) -> String {
    TYPES
        .iter()
        .find(|&&(_, c)| c == code)
        .map_or_else(|| format!("TYPE{code}"), |(name, _)| (*name).to_string())
}

/// A class mnemonic or `CLASSn`.
pub(crate) fn class(word: &[u8]) -> Option<u16> {
    if let Some(code) = numbered(word, b"CLASS") {
        return Some(code);
    }
    const CLASSES: &[(&str, u16)] = &[
        ("IN", 1),
        ("CH", 3),
        ("CHAOS", 3),
        ("HS", 4),
        ("HESIOD", 4),
        ("NONE", 254),
        ("ANY", 255),
    ];
    CLASSES
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(word))
        .map(|&(_, code)| code)
}

/// The mnemonic of a class, or `CLASSn`.
pub(crate) fn class_name(code: u16) -> String {
    match code {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        _ => format!("CLASS{code}"),
    }
}

/// `<prefix><decimal u16>`, prefix case ignored.
fn numbered(word: &[u8], prefix: &[u8]) -> Option<u16> {
    let (head, digits) = word.split_at_checked(prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix)
        || digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A DNSSEC algorithm: a number or its mnemonic (RFC 8624 §3.1).
pub(crate) fn algorithm(word: &[u8]) -> Option<u8> {
    const ALGORITHMS: &[(&str, u8)] = &[
        ("RSAMD5", 1),
        ("DH", 2),
        ("DSA", 3),
        ("RSASHA1", 5),
        ("DSA-NSEC3-SHA1", 6),
        ("NSEC3DSA", 6),
        ("RSASHA1-NSEC3-SHA1", 7),
        ("NSEC3RSASHA1", 7),
        ("RSASHA256", 8),
        ("RSASHA512", 10),
        ("ECC-GOST", 12),
        ("ECDSAP256SHA256", 13),
        ("ECDSAP384SHA384", 14),
        ("ED25519", 15),
        ("ED448", 16),
        ("INDIRECT", 252),
        ("PRIVATEDNS", 253),
        ("PRIVATEOID", 254),
    ];
    ALGORITHMS
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(word))
        .map(|&(_, code)| code)
}

/// A DS digest type: a number or its mnemonic.
pub(crate) fn digest_type(word: &[u8]) -> Option<u8> {
    const DIGESTS: &[(&str, u8)] = &[("SHA-1", 1), ("SHA-256", 2), ("GOST", 3), ("SHA-384", 4)];
    DIGESTS
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(word))
        .map(|&(_, code)| code)
}

/// A CERT type: a number or its mnemonic (RFC 4398 §2.1).
pub(crate) fn cert_type(word: &[u8]) -> Option<u16> {
    const CERTS: &[(&str, u16)] = &[
        ("PKIX", 1),
        ("SPKI", 2),
        ("PGP", 3),
        ("IPKIX", 4),
        ("ISPKI", 5),
        ("IPGP", 6),
        ("ACPKIX", 7),
        ("IACPKIX", 8),
        ("URI", 253),
        ("OID", 254),
    ];
    CERTS
        .iter()
        .find(|(name, _)| name.as_bytes().eq_ignore_ascii_case(word))
        .map(|&(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics_and_numbers() {
        assert_eq!(rtype(b"aaaa"), Some(28));
        assert_eq!(rtype(b"TYPE65534"), Some(65534));
        assert_eq!(rtype(b"type1"), Some(1));
        assert_eq!(rtype(b"TYPE65536"), None);
        assert_eq!(rtype(b"AX"), None);
        assert_eq!(class(b"CLASS1"), Some(1));
        assert_eq!(class(b"in"), Some(1));
        assert_eq!(rtype_name(65534), "TYPE65534");
        assert_eq!(algorithm(b"RSASHA256"), Some(8));
    }
}
