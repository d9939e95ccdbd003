//! Errors of zone file loading: every fault names the file, and the line and
//! column when a token is to blame; a zone reports all its faults at once.

use std::{fmt, io, path::PathBuf};

use hickory_proto::rr::Name;
use thiserror::Error;

/// At most this many faults are listed; the rest are counted.
pub(crate) const MAX_FAULTS: usize = 100;

/// Why a private zone file was rejected.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ZoneFileError {
    /// The zone file itself could not be read.
    #[error("{path}: cannot read zone file: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The zone's text has faults: every one found, in file order, one per
    /// line of the message.
    #[error("{}", Faults(faults))]
    Invalid { faults: Vec<ZoneFault> },
}

impl ZoneFileError {
    /// Every fault found (one for `Read`: none).
    pub fn faults(&self) -> &[ZoneFault] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid { faults } => faults,
        }
    }

    /// The file to blame first (an included file when the fault is in it).
    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        match self {
            Self::Read { path, .. } => path,
            Self::Invalid { faults } => {
                faults.first().map_or(std::path::Path::new(""), |f| &f.path)
            }
        }
    }

    /// The 1-based line of the first fault, when a line is to blame.
    #[cfg(test)]
    pub(crate) fn line(&self) -> Option<usize> {
        self.faults().first().and_then(|f| f.line)
    }
}

struct Faults<'a>(&'a [ZoneFault]);

impl fmt::Display for Faults<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

/// One fault of a zone: where, what, and (from files that read as zone
/// text) the entry it is in.
#[derive(Debug)]
pub struct ZoneFault {
    pub(crate) path: PathBuf,
    /// 1-based line, when a line is to blame.
    pub(crate) line: Option<usize>,
    /// 1-based byte column of the token to blame.
    pub(crate) column: Option<usize>,
    pub(crate) kind: FaultKind,
    /// The entry's text on one line, shortened; never from a file none of
    /// whose entries parsed (it may be any file: a key, a password list).
    pub(crate) excerpt: Option<String>,
}

impl fmt::Display for ZoneFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.kind)?;
        if let Some(excerpt) = &self.excerpt {
            write!(f, ": `{excerpt}`")?;
        }
        Ok(())
    }
}

/// What is wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(crate) enum FaultKind {
    /// Not valid zone-file syntax (the message says what was expected).
    #[error("{0}")]
    Syntax(String),
    /// Valid syntax that breaks a rule of the zone.
    #[error("{0}")]
    Rule(ZoneRule),
    /// A `$INCLUDE` that could not be followed.
    #[error("{0}")]
    Include(IncludeProblem),
    /// The zone file could be opened but not taken.
    #[error("cannot read zone file: {0}")]
    Read(ReadProblem),
    /// The zone has no SOA at its origin (RFC 1035 §5.2: one SOA at the top).
    #[error("no SOA record at the zone apex {origin}")]
    NoSoa { origin: Name },
    /// A PrivateZone-style zone holds what that style refuses (its own SOA
    /// or apex NS, a CNAME beside other data).
    #[error("PrivateZone style: {0}")]
    PrivateZoneStyle(String),
    /// No entry of the file parses: it is not a zone file, and its content
    /// is not quoted.
    #[error("not a zone file: none of its entries parses ({faults} faults; first at line {line})")]
    NotZoneText { faults: usize, line: usize },
    /// Faults beyond `MAX_FAULTS`, counted.
    #[error("{0} more faults not listed")]
    More(usize),
}

/// Why a file could not be taken.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(crate) enum ReadProblem {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Only regular files are read: a FIFO or a device could block the
    /// load forever, a directory is a mistake.
    #[error("not a regular file (a {kind})")]
    NotRegular { kind: &'static str },
    #[error("the zone's files exceed {max} bytes in all")]
    TooLarge { max: u64 },
    #[error("the zone reads more than {max} files")]
    TooManyFiles { max: usize },
}

/// Why a `$INCLUDE` could not be followed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub(crate) enum IncludeProblem {
    #[error("$INCLUDE needs a file name")]
    MissingFile,
    #[error("cannot read included file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: ReadProblem,
    },
    #[error("included file {path} includes itself")]
    Loop { path: PathBuf },
    #[error("$INCLUDE nested deeper than {max} files")]
    TooDeep { max: usize },
    #[error("bad origin in $INCLUDE: {message}")]
    BadOrigin { message: String },
}

/// A rule of zone content (beyond syntax) that a record breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub(crate) enum ZoneRule {
    /// Every owner must be at or below the origin: a zone cannot answer for
    /// names it does not hold (RFC 1034 §4.2).
    #[error("owner {owner} is outside the zone {origin}")]
    OutsideOrigin { owner: Name, origin: Name },
    /// A CNAME owner has no other data (RFC 1034 §3.6.2, RFC 2181 §10.1).
    #[error("{owner} has a CNAME and other data")]
    CnameAndOtherData { owner: Name },
    /// A name has one CNAME at most (RFC 2181 §10.1).
    #[error("{owner} has two CNAME records")]
    TwoCnames { owner: Name },
    /// The only SOA of a zone is at its apex.
    #[error("SOA at {owner}, not at the zone apex {origin}")]
    SoaNotAtApex { owner: Name, origin: Name },
    /// A zone has exactly one SOA (RFC 1035 §5.2).
    #[error("a second SOA record at {owner}")]
    TwoSoas { owner: Name },
    /// PrivateZone serves class IN only.
    #[error("{owner} has class {class}, only IN is served")]
    NotClassIn { owner: Name, class: String },
}
