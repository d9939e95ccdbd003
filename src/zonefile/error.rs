//! Errors of zone file loading: every one names the file, and the line when a
//! line is to blame, so an operator can fix the zone without guessing.

use std::{io, path::PathBuf};

use hickory_proto::{rr::Name, serialize::txt::ParseError};
use thiserror::Error;

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

    /// A `$INCLUDE` directive could not be followed.
    #[error("{path}:{line}: {problem}: `{text}`")]
    Include {
        path: PathBuf,
        line: usize,
        text: String,
        problem: Box<IncludeProblem>,
    },

    /// The record (or directive) starting at `line` is not valid zone file
    /// syntax, as judged by hickory's parser.
    #[error("{path}:{line}: {source}: `{text}`")]
    Syntax {
        path: PathBuf,
        line: usize,
        text: String,
        #[source]
        source: ParseError,
    },

    /// The record starting at `line` parses but breaks a rule of the zone.
    #[error("{path}:{line}: {rule}: `{text}`")]
    Rule {
        path: PathBuf,
        line: usize,
        text: String,
        rule: Box<ZoneRule>,
    },

    /// The zone has no SOA at its origin (RFC 1035 §5.2: exactly one SOA at the top).
    #[error("{path}: no SOA record at the zone apex {origin}")]
    NoSoa { path: PathBuf, origin: Name },
}

impl ZoneFileError {
    /// The file to blame (an included file when the fault is in it).
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Read { path, .. }
            | Self::Include { path, .. }
            | Self::Syntax { path, .. }
            | Self::Rule { path, .. }
            | Self::NoSoa { path, .. } => path,
        }
    }

    /// The 1-based line to blame, when one is.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Include { line, .. } | Self::Syntax { line, .. } | Self::Rule { line, .. } => {
                Some(*line)
            }
            Self::Read { .. } | Self::NoSoa { .. } => None,
        }
    }
}

/// Why a `$INCLUDE` could not be followed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IncludeProblem {
    #[error("$INCLUDE needs a file name")]
    MissingFile,
    #[error("cannot read included file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("included file {path} includes itself")]
    Loop { path: PathBuf },
    #[error("$INCLUDE nested deeper than {max} files")]
    TooDeep { max: usize },
    #[error("relative $INCLUDE {file} needs the zone's own path to resolve against")]
    NoBaseDir { file: String },
    #[error("bad origin {origin} in $INCLUDE: {source}")]
    BadOrigin {
        origin: String,
        #[source]
        source: hickory_proto::ProtoError,
    },
}

/// A rule of zone content (beyond syntax) that a record breaks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ZoneRule {
    /// Every owner must be at or below the origin: a zone cannot answer for
    /// names it does not hold (RFC 1034 §4.2).
    #[error("owner {owner} is outside the zone {origin}")]
    OutsideOrigin { owner: Name, origin: Name },
    /// A CNAME owner has no other data (RFC 1034 §3.6.2, RFC 2181 §10.1).
    #[error("{owner} has a CNAME and other data")]
    CnameAndOtherData { owner: Name },
    /// The only SOA of a zone is at its apex.
    #[error("SOA at {owner}, not at the zone apex {origin}")]
    SoaNotAtApex { owner: Name, origin: Name },
    /// PrivateZone serves class IN only.
    #[error("{owner} has class {class}, only IN is served")]
    NotClassIn { owner: Name, class: String },
}
