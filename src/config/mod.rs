//! The config file format: TOML syntax and types only. The rules live in
//! `model/`, and `load` (above both) turns a file into a validated model.
//! `ConfigPath` names a place in a file and `Lines` finds its line, so that
//! every error can say where it is.

pub(crate) mod file;
pub(crate) mod lines;
pub(crate) mod path;

use std::path::{Path, PathBuf};

pub(crate) use file::ConfigFile;
pub(crate) use lines::Lines;
pub(crate) use path::ConfigPath;

/// The embedded default lab config: loopback addresses only.
pub(crate) const DEFAULT_LAB_CONFIG: &str = include_str!("../../zones/lab.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// toml's message already names the line, column and key.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
}

/// Parses config text; `path` is used only to name the source in errors.
pub(crate) fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// The text of the config file at `path`.
pub(crate) fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}
