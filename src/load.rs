//! File → validated model: the one path used by `check`, start-up and reload.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, DEFAULT_LAB_CONFIG, parse, read};
use hickory_proto::rr::Name;

use crate::model::{self, Model, ValidationError};
use crate::zonefile::{PrivateZone, ZoneFileError};

/// Zone files that the embedded lab config names, embedded with it.
const EMBEDDED_ZONES: &[(&str, &str)] =
    &[("corp.lab.zone", include_str!("../zones/corp.lab.zone"))];

/// Where a config came from, for error messages and reloads.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    File(PathBuf),
    Embedded,
}

impl ConfigSource {
    pub fn name(&self) -> PathBuf {
        match self {
            ConfigSource::File(p) => p.clone(),
            ConfigSource::Embedded => PathBuf::from("<embedded zones/lab.toml>"),
        }
    }

    /// Loads a zone file named in this config: relative to the config
    /// file's folder; for the embedded config, from the copies embedded with
    /// it (so `epdns serve` works from any folder).
    pub fn load_zone(
        &self,
        origin: &Name,
        file: &str,
    ) -> Result<(PathBuf, PrivateZone), ZoneFileError> {
        match self {
            ConfigSource::File(p) => {
                let path = p.parent().unwrap_or(Path::new(".")).join(file);
                PrivateZone::load(origin, &path).map(|z| (path, z))
            }
            ConfigSource::Embedded => {
                let path = PathBuf::from("<embedded zones>").join(file);
                match EMBEDDED_ZONES.iter().find(|(name, _)| *name == file) {
                    Some((_, text)) => {
                        PrivateZone::from_str(origin, text, &path).map(|z| (path, z))
                    }
                    None => Err(ZoneFileError::Read {
                        path,
                        source: std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "not one of the zone files embedded with the default config",
                        ),
                    }),
                }
            }
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
pub fn load(source: &ConfigSource, previous: Option<&Model>) -> Result<Model, LoadError> {
    let cfg = match source {
        ConfigSource::File(p) => read(p),
        ConfigSource::Embedded => parse(DEFAULT_LAB_CONFIG, &source.name()),
    }
    .map_err(LoadError::Config)?;
    model::build(&cfg, previous, &|origin, file| {
        source.load_zone(origin, file)
    })
    .map_err(|errors| LoadError::Invalid {
        path: source.name(),
        errors,
    })
}

/// Validates config text (used by tests and `check` alike).
pub fn load_str(text: &str, path: &Path) -> Result<Model, LoadError> {
    let cfg = parse(text, path).map_err(LoadError::Config)?;
    let source = ConfigSource::File(path.to_path_buf());
    model::build(&cfg, None, &|origin, file| source.load_zone(origin, file)).map_err(|errors| {
        LoadError::Invalid {
            path: path.to_path_buf(),
            errors,
        }
    })
}
