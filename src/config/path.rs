//! Where a value sits in a config file: the table keys and array indexes
//! from the document's root, as TOML writes them (`endpoint[3].zones[1].ip`).
//! Validation names every error's place this way; `Lines` turns it into a
//! line of the file.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Key(&'static str),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConfigPath(Vec<Step>);

impl ConfigPath {
    /// The document itself.
    #[cfg(test)]
    pub(crate) fn root() -> Self {
        Self::default()
    }

    pub(crate) fn key(mut self, key: &'static str) -> Self {
        self.0.push(Step::Key(key));
        self
    }

    pub(crate) fn index(mut self, index: usize) -> Self {
        self.0.push(Step::Index(index));
        self
    }

    /// `self` followed by `tail`.
    pub(crate) fn join(&self, tail: &ConfigPath) -> Self {
        let mut steps = self.0.clone();
        steps.extend_from_slice(&tail.0);
        Self(steps)
    }

    pub(crate) fn steps(&self) -> &[Step] {
        &self.0
    }
}

/// A dotted path of keys: `"soa.refresh"` is `soa`, then `refresh`.
impl From<&'static str> for ConfigPath {
    fn from(dotted: &'static str) -> Self {
        Self(dotted.split('.').map(Step::Key).collect())
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if i == 0 => write!(f, "{k}")?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_toml_writes_it() {
        let p = ConfigPath::root()
            .key("endpoint")
            .index(3)
            .join(&ConfigPath::from("zones").index(1).key("ip"));
        assert_eq!(p.to_string(), "endpoint[3].zones[1].ip");
        assert_eq!(ConfigPath::from("soa.refresh").to_string(), "soa.refresh");
        assert_eq!(ConfigPath::root().to_string(), "");
    }
}
