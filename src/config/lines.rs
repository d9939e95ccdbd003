//! The line of a config file that an error is about, from the spans the
//! `toml` crate keeps for every key and value.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::path::{ConfigPath, Step};

/// A config file's text with its parse tree, for looking up lines.
pub(crate) struct Lines<'a> {
    text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Lines<'a> {
    /// `text` is a file that parsed; were it not, every lookup finds no line.
    pub(crate) fn new(text: &'a str) -> Self {
        Self {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// The 1-based line of the value at `path`: where its key is written (an
    /// array element: where the element starts). When the file leaves the
    /// value out (a default), the line of the nearest enclosing table or
    /// element that it writes: an object's `[[endpoint]]` header, or one
    /// `{ ... }` of an inline array. `None` when not even the top-level key is
    /// in the file.
    pub(crate) fn line(&self, path: &ConfigPath) -> Option<usize> {
        let root = self.root.as_ref()?;
        let mut found = None;
        let mut table: Option<&DeTable<'a>> = Some(root.get_ref());
        let mut array: Option<&[Spanned<DeValue<'a>>]> = None;
        for step in path.steps() {
            let (offset, value) = match (*step, table, array) {
                (Step::Key(k), Some(t), _) => match t.get_key_value(k) {
                    Some((key, value)) => (key.span().start, value),
                    None => break,
                },
                (Step::Index(i), _, Some(a)) => match <[_]>::get(a, i) {
                    Some(value) => (value.span().start, value),
                    None => break,
                },
                _ => break,
            };
            found = Some(offset);
            (table, array) = match value.get_ref() {
                DeValue::Table(t) => (Some(t), None),
                DeValue::Array(a) => (None, Some(&a[..])),
                _ => (None, None),
            };
        }
        found.map(|offset| line_at(self.text, offset))
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# comment
[server]
listen = [
  "127.0.0.1:5300",
  "[::1]:5300",
]

[server.soa]
refresh = 0

[[endpoint]]
id = "ep-a"

[[endpoint]]
id = "ep-b"
zones = [ { vswitch = "vsw-h", ip = "127.0.1.10" },
          { vswitch = "vsw-i", ip = "127.0.2.10" } ]
probe = { kind = "tcp" }
"#;

    fn line(path: ConfigPath) -> Option<usize> {
        Lines::new(TEXT).line(&path)
    }

    fn ep(i: usize) -> ConfigPath {
        ConfigPath::from("endpoint").index(i)
    }

    #[test]
    fn a_written_value_is_found_at_its_key() {
        assert_eq!(line(ConfigPath::from("server.soa.refresh")), Some(9));
        assert_eq!(line(ep(1).key("id")), Some(15));
        assert_eq!(line(ep(1).key("probe").key("kind")), Some(18));
    }

    #[test]
    fn array_elements_are_found_on_their_own_line() {
        assert_eq!(line(ConfigPath::from("server.listen").index(1)), Some(5));
        assert_eq!(line(ep(1).key("zones").index(1).key("ip")), Some(17));
        assert_eq!(line(ep(1).key("zones").index(0).key("ip")), Some(16));
    }

    #[test]
    fn a_value_left_out_is_found_at_what_encloses_it() {
        // The `[[endpoint]]` header of the second endpoint.
        assert_eq!(line(ep(1).key("ip_version")), Some(14));
        assert_eq!(line(ep(0).key("zones").index(0).key("ip")), Some(11));
        // The inline table of the element.
        assert_eq!(line(ep(1).key("zones").index(1).key("ipv6")), Some(17));
        assert_eq!(line(ConfigPath::from("server.ttl")), Some(2));
    }

    #[test]
    fn nothing_written_means_no_line() {
        assert_eq!(line(ConfigPath::from("forward.upstreams")), None);
        assert_eq!(line(ConfigPath::root()), None);
        assert_eq!(Lines::new("not toml [").line(&ep(0)), None);
    }
}
