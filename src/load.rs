//! File → validated model: the one path used by `check`, start-up and reload.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cloudapi::plane::Extension;
pub use crate::config::ConfigError;
use crate::config::file::ConfigFile;
use crate::config::path::Step;
use crate::config::{DEFAULT_LAB_CONFIG, Lines, parse, read};
use hickory_proto::rr::Name;

use crate::model::{self, Model, ValidationError};
use crate::zonefile::{Limits, PrivateZone, ZoneFileError, ZoneStyle};

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

    /// Where a zone file named `file` in this config is: relative to the
    /// config file's folder; for the embedded config, a name for its
    /// embedded copy.
    pub(crate) fn zone_path(&self, file: &str) -> PathBuf {
        match self {
            ConfigSource::File(p) => p.parent().unwrap_or(Path::new(".")).join(file),
            ConfigSource::Embedded => PathBuf::from("<embedded zones>").join(file),
        }
    }

    /// Loads a zone file named in this config, read in `style`: relative to
    /// the config file's folder; for the embedded config, from the copies
    /// embedded with it (so `epdns serve` works from any folder).
    pub(crate) fn load_zone(
        &self,
        origin: &Name,
        file: &str,
        style: &ZoneStyle,
    ) -> Result<(PathBuf, PrivateZone), ZoneFileError> {
        match self {
            ConfigSource::File(_) => {
                let path = self.zone_path(file);
                PrivateZone::load_styled(origin, &path, Limits::default(), style).map(|z| (path, z))
            }
            ConfigSource::Embedded => {
                let path = self.zone_path(file);
                match EMBEDDED_ZONES.iter().find(|(name, _)| *name == file) {
                    Some((_, text)) => {
                        PrivateZone::from_str_styled(origin, text, &path, style).map(|z| (path, z))
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
    /// Every rule the config breaks, each with its line.
    Invalid {
        path: PathBuf,
        errors: Vec<LocatedError>,
    },
}

/// A broken rule and the line of the config file it is about: where the
/// value at fault is written, else its object's table; `None` when the file
/// writes neither (a default of a section left out).
#[derive(Debug, Clone)]
pub struct LocatedError {
    pub(crate) line: Option<usize>,
    pub(crate) error: ValidationError,
}

impl fmt::Display for LoadError {
    /// One error a line, `file:line: object: field: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Config(e) => write!(f, "{e}"),
            LoadError::Invalid { path, errors } => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    match e.line {
                        Some(line) => write!(f, "{}:{line}: {}", path.display(), e.error)?,
                        None => write!(f, "{}: {}", path.display(), e.error)?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates. `previous` is the model being replaced on reload.
pub fn load(source: &ConfigSource, previous: Option<&Model>) -> Result<Model, LoadError> {
    load_with(source, previous, None).map(|(model, _)| model)
}

/// Reads, adds the control API's objects (`api`) to the parsed file, and
/// validates the whole; returns the model and the file as parsed (without
/// the additions), which the control API validates its changes against.
pub(crate) fn load_with(
    source: &ConfigSource,
    previous: Option<&Model>,
    api: Option<&Extension>,
) -> Result<(Model, ConfigFile), LoadError> {
    let text = match source {
        ConfigSource::File(p) => Cow::Owned(read(p).map_err(LoadError::Config)?),
        ConfigSource::Embedded => Cow::Borrowed(DEFAULT_LAB_CONFIG),
    };
    let path = source.name();
    let mut cfg = parse(&text, &path).map_err(LoadError::Config)?;
    relative_to_config(&mut cfg, source);
    let base = cfg.clone();
    if let Some(api) = api {
        api.extend(&mut cfg);
    }
    let model = build_located(&text, source, &cfg, previous, api, base.endpoint.len())?;
    Ok((model, base))
}

/// Validates config text (used by tests and `check` alike).
pub fn load_str(text: &str, path: &Path) -> Result<Model, LoadError> {
    validate(text, &ConfigSource::File(path.to_path_buf()), None)
}

fn validate(
    text: &str,
    source: &ConfigSource,
    previous: Option<&Model>,
) -> Result<Model, LoadError> {
    let path = source.name();
    let mut cfg = parse(text, &path).map_err(LoadError::Config)?;
    relative_to_config(&mut cfg, source);
    let in_file = cfg.endpoint.len();
    build_located(text, source, &cfg, previous, None, in_file)
}

/// Validates `cfg` (parsed from `text`); errors name their line of `text`,
/// except those about endpoints past the file's `in_file` (added by the
/// control API), which the file does not have.
fn build_located(
    text: &str,
    source: &ConfigSource,
    cfg: &ConfigFile,
    previous: Option<&Model>,
    api: Option<&Extension>,
    in_file: usize,
) -> Result<Model, LoadError> {
    let path = source.name();
    model::build(cfg, previous, &|origin, file, style| {
        match api.and_then(|api| api.load_zone(&cfg.server, file)) {
            Some(zone) => zone,
            None => source.load_zone(origin, file, style),
        }
        .map(|(path, zone)| (path, Arc::new(zone)))
    })
    .map_err(|errors| {
        // Lines are looked up only for a rejected config, so an accepted
        // one is parsed once.
        let lines = Lines::new(text);
        let errors = errors
            .into_iter()
            .map(|error| LocatedError {
                line: match error.at.steps() {
                    [Step::Key("endpoint"), Step::Index(i), ..] if *i >= in_file => None,
                    _ => lines.line(&error.at),
                },
                error,
            })
            .collect();
        LoadError::Invalid { path, errors }
    })
}

/// Files a config names (probe CA files) are relative to the config file's
/// folder, as zone files are; the embedded config names none.
fn relative_to_config(cfg: &mut ConfigFile, source: &ConfigSource) {
    let ConfigSource::File(config) = source else {
        return;
    };
    let dir = config.parent().unwrap_or(Path::new("."));
    let probes = cfg
        .probe
        .iter_mut()
        .chain(cfg.service.iter_mut().filter_map(|s| s.probe.as_mut()))
        .chain(cfg.endpoint.iter_mut().filter_map(|e| e.probe.as_mut()));
    for probe in probes {
        if let Some(file) = probe.ca_file.as_mut()
            && Path::new(file.as_str()).is_relative()
        {
            *file = dir.join(&*file).to_string_lossy().into_owned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_config_errors_name_their_line() {
        let text = DEFAULT_LAB_CONFIG.replacen("ttl = 60", "ttl = 60\nall_down = \"maybe\"", 1);
        let line = text
            .lines()
            .position(|l| l.contains("maybe"))
            .expect("the line was added")
            + 1;
        let err = validate(&text, &ConfigSource::Embedded, None)
            .expect_err("all_down is invalid")
            .to_string();
        assert_eq!(
            err,
            format!(
                "<embedded zones/lab.toml>:{line}: [server]: all_down: \
                 'maybe' is not one of \"all\", \"none\", \"servfail\""
            )
        );
    }
}
