//! File → validated model: the one path used by `check`, start-up and reload.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{ConfigError, DEFAULT_LAB_CONFIG, parse, read};
use crate::model::{self, Model, ValidationError};

/// Where a config came from, for error messages and reloads.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Embedded,
}

impl Source {
    pub fn name(&self) -> PathBuf {
        match self {
            Source::File(p) => p.clone(),
            Source::Embedded => PathBuf::from("<embedded zones/lab.toml>"),
        }
    }
}

#[derive(Debug)]
pub enum LoadError {
    Config(ConfigError),
    Invalid {
        path: PathBuf,
        errors: Vec<ValidationError>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Config(e) => write!(f, "{e}"),
            LoadError::Invalid { path, errors } => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}: {e}", path.display())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates. `previous` is the model being replaced on reload.
pub fn load(source: &Source, previous: Option<&Model>) -> Result<Model, LoadError> {
    let cfg = match source {
        Source::File(p) => read(p),
        Source::Embedded => parse(DEFAULT_LAB_CONFIG, &source.name()),
    }
    .map_err(LoadError::Config)?;
    model::build(&cfg, previous).map_err(|errors| LoadError::Invalid {
        path: source.name(),
        errors,
    })
}

/// Validates config text (used by tests and `check` alike).
pub fn load_str(text: &str, path: &Path) -> Result<Model, LoadError> {
    let cfg = parse(text, path).map_err(LoadError::Config)?;
    model::build(&cfg, None).map_err(|errors| LoadError::Invalid {
        path: path.to_path_buf(),
        errors,
    })
}
