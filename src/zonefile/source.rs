//! The zone's text as hickory's parser will see it, with a map back to files
//! and lines.
//!
//! hickory's parser reports no positions, so we hand it text whose entry
//! boundaries we know: each entry (one record or directive, possibly spread over
//! lines by parentheses or quotes) remembers the file and line it came from.
//! `$INCLUDE` is expanded here rather than by hickory so that entries of an
//! included file map to that file, and so that the parent's origin is restored
//! after the included file as RFC 1035 §5.1 requires (hickory keeps whatever
//! `$ORIGIN` the included file left behind).

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use hickory_proto::rr::Name;

use super::{
    error::{IncludeProblem, ZoneFileError},
    key::key_of,
};

/// Included files nested deeper than this are refused: the only way to get
/// there is a mistake (a loop through a symlink, for instance).
const MAX_INCLUDE_DEPTH: usize = 16;

/// One record or directive of the expanded text.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Byte range of the entry in `ZoneText::text`, final newline included.
    pub start: usize,
    pub end: usize,
    /// Index into `ZoneText::files`.
    pub file: usize,
    /// 1-based line of `file` where the entry starts (for synthesized
    /// `$ORIGIN` lines: the line of the `$INCLUDE` that caused them).
    pub line: usize,
}

/// A zone file with its `$INCLUDE`s expanded.
#[derive(Debug)]
pub(crate) struct ZoneText {
    pub text: String,
    pub files: Vec<PathBuf>,
    pub entries: Vec<Entry>,
    /// Owner names as the file spells them, by lowercase wire key: hickory's
    /// parser lowercases owners (it maps labels as IDNA does), and answers
    /// should carry the zone's own spelling.
    pub owners: HashMap<Box<[u8]>, Name>,
}

impl ZoneText {
    /// Expands `text`, the content of `path`, whose origin starts as `origin`.
    pub fn expand(origin: &Name, text: &str, path: &Path) -> Result<Self, ZoneFileError> {
        let mut source = Self {
            text: String::with_capacity(text.len() + 1),
            files: vec![path.to_path_buf()],
            entries: Vec::new(),
            owners: HashMap::new(),
        };
        let mut origin = origin.clone();
        let mut stack = vec![canonical(path)];
        source.add_file(0, text, &mut origin, &mut stack)?;
        Ok(source)
    }

    /// The entry's text for an error message: on one line, shortened.
    pub fn excerpt(&self, entry: &Entry) -> String {
        const MAX: usize = 100;
        let raw = &self.text[entry.start..entry.end];
        let mut out = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if out.chars().count() > MAX {
            out = out.chars().take(MAX).collect::<String>() + "…";
        }
        out
    }

    fn add_file(
        &mut self,
        file: usize,
        text: &str,
        origin: &mut Name,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), ZoneFileError> {
        let mut pos = 0;
        let mut line = 1;
        while pos < text.len() {
            let end = entry_end(text.as_bytes(), pos);
            let raw = &text[pos..end];
            match directive(raw) {
                Some(("$INCLUDE", args)) => self.include(file, line, raw, &args, origin, stack)?,
                Some(("$ORIGIN", args)) => {
                    // Mirror hickory, which takes the $ORIGIN argument as is; if it
                    // is bad, hickory reports it at this entry.
                    if let Some(Ok(name)) = args.first().map(|a| spelled(a, None)) {
                        *origin = name;
                    }
                    self.push(raw, file, line);
                }
                _ => {
                    self.remember_owner(raw, origin);
                    self.push(raw, file, line);
                }
            }
            line += raw.matches('\n').count();
            pos = end;
        }
        Ok(())
    }

    fn include(
        &mut self,
        file: usize,
        line: usize,
        raw: &str,
        args: &[&str],
        origin: &mut Name,
        stack: &mut Vec<PathBuf>,
    ) -> Result<(), ZoneFileError> {
        let fail = |problem| ZoneFileError::Include {
            path: self.files[file].clone(),
            line,
            text: raw.trim().to_owned(),
            problem: Box::new(problem),
        };
        let Some(target) = args.first() else {
            return Err(fail(IncludeProblem::MissingFile));
        };
        let target = Path::new(target.trim_matches('"'));
        // Relative to the including file's directory, as hickory resolves it
        // (so a zone directory can move as a whole).
        let target = match self.files[file].parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target.to_path_buf(),
        };
        if stack.len() > MAX_INCLUDE_DEPTH {
            return Err(fail(IncludeProblem::TooDeep {
                max: MAX_INCLUDE_DEPTH,
            }));
        }
        let canonical_target = canonical(&target);
        if stack.contains(&canonical_target) {
            return Err(fail(IncludeProblem::Loop { path: target }));
        }
        let content = match fs::read_to_string(&target) {
            Ok(content) => content,
            Err(source) => {
                return Err(fail(IncludeProblem::Read {
                    path: target,
                    source,
                }));
            }
        };
        let parent_origin = origin.clone();
        if let Some(new_origin) = args.get(1) {
            match Name::parse(new_origin, Some(&parent_origin)) {
                Ok(name) => *origin = name,
                Err(source) => {
                    return Err(fail(IncludeProblem::BadOrigin {
                        origin: (*new_origin).to_owned(),
                        source,
                    }));
                }
            }
            self.push(&format!("$ORIGIN {origin}\n"), file, line);
        }

        let included = self.files.len();
        self.files.push(target);
        stack.push(canonical_target);
        self.add_file(included, &content, origin, stack)?;
        stack.pop();

        // The parent's origin is back in force after the included file.
        *origin = parent_origin;
        self.push(&format!("$ORIGIN {origin}\n"), file, line);
        Ok(())
    }

    /// Notes the spelling of the owner that starts `raw`, if it names one.
    fn remember_owner(&mut self, raw: &str, origin: &Name) {
        // Blank start: previous owner; `@`: the origin; `;`: a comment.
        if raw.starts_with(|c: char| c.is_whitespace() || c == '@' || c == ';' || c == '(') {
            return;
        }
        let token = raw
            .split(|c: char| c.is_whitespace() || c == ';')
            .next()
            .unwrap_or_default();
        // hickory lowercases ASCII: only names with capitals need remembering.
        let capitals = |name: &Name| name.iter().flatten().any(u8::is_ascii_uppercase);
        let relative = !token.ends_with('.');
        let spelled_differently =
            token.bytes().any(|b| b.is_ascii_uppercase()) || (relative && capitals(origin));
        if !spelled_differently {
            return;
        }
        if let Ok(owner) = spelled(token, Some(origin)) {
            self.owners.entry(key_of(&owner)).or_insert(owner);
        }
    }

    fn push(&mut self, raw: &str, file: usize, line: usize) {
        let start = self.text.len();
        self.text.push_str(raw);
        // An entry must end its line, or the next file's first entry would
        // continue it.
        if !raw.ends_with('\n') {
            self.text.push('\n');
        }
        self.entries.push(Entry {
            start,
            end: self.text.len(),
            file,
            line,
        });
    }
}

/// A name as written (ASCII case kept), relative to `origin` unless it ends
/// with a dot; non-ASCII names go through hickory's usual mapping.
fn spelled(text: &str, origin: Option<&Name>) -> Result<Name, hickory_proto::ProtoError> {
    let name = Name::from_ascii(text).or_else(|_| Name::parse(text, None))?;
    match origin {
        Some(origin) if !name.is_fqdn() => name.append_domain(origin),
        _ => Ok(name),
    }
}

/// Best effort: a path that cannot be canonicalized (it does not exist yet)
/// is compared as written; reading it fails right after anyway.
fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `$WORD args…` at the very start of an entry, comment stripped.
fn directive(raw: &str) -> Option<(&str, Vec<&str>)> {
    if !raw.starts_with('$') {
        return None;
    }
    let line = raw.split(';').next().unwrap_or_default();
    let mut words = line.split_whitespace();
    let word = words.next()?;
    Some((word, words.collect()))
}

/// Byte offset just past the entry starting at `pos`: past the newline that
/// ends it outside parentheses and quotes, or the end of the text.
///
/// It follows the tokenizing rules of hickory's lexer so both agree on where
/// an entry ends: `(` and `"` are special only at the start of a token, `;`
/// starts a comment outside quotes, `\` escapes only inside quotes, and
/// parentheses do not nest.
fn entry_end(text: &[u8], mut pos: usize) -> usize {
    let mut in_list = false;
    while pos < text.len() {
        match text[pos] {
            b'\n' if !in_list => return pos + 1,
            b';' => {
                while pos < text.len() && text[pos] != b'\n' {
                    pos += 1;
                }
                continue;
            }
            b'"' if !in_list => {
                pos += 1;
                while pos < text.len() && text[pos] != b'"' {
                    pos += if text[pos] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' if !in_list => in_list = true,
            b')' if in_list => in_list = false,
            b if b.is_ascii_whitespace() => {}
            _ => {
                // A token runs to whitespace, a comment or a closing
                // parenthesis; its first byte may be a stray `)`, which hickory
                // rejects, so it is always consumed.
                pos += 1;
                while pos < text.len() && !matches!(text[pos], b';' | b')') {
                    if text[pos].is_ascii_whitespace() {
                        break;
                    }
                    pos += 1;
                }
                continue;
            }
        }
        pos += 1;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            let end = entry_end(text.as_bytes(), pos);
            out.push(&text[pos..end]);
            pos = end;
        }
        out
    }

    #[test]
    fn entries_follow_parentheses_quotes_and_comments() {
        let text = "a A 127.0.0.1\n@ SOA ns h. ( 1 ; serial )\n 2 3 4 5 )\nt TXT \"x\ny\" ; c (\nz A 127.0.0.2";
        assert_eq!(
            ends(text),
            vec![
                "a A 127.0.0.1\n",
                "@ SOA ns h. ( 1 ; serial )\n 2 3 4 5 )\n",
                "t TXT \"x\ny\" ; c (\n",
                "z A 127.0.0.2",
            ]
        );
    }

    #[test]
    fn stray_closing_parenthesis_ends_nothing() {
        assert_eq!(ends("a ) b\nc\n"), vec!["a ) b\n", "c\n"]);
    }

    #[test]
    fn unclosed_parenthesis_runs_to_the_end() {
        assert_eq!(ends("a ( 1\nb\n"), vec!["a ( 1\nb\n"]);
    }

    #[test]
    fn lines_of_entries_are_counted_from_one() {
        let origin = Name::from_ascii("z.lab.").unwrap();
        let text = "; c\n@ SOA ns h. (\n1 2 3 4 5 )\nwww A 127.0.0.1\n";
        let source = ZoneText::expand(&origin, text, Path::new("z.zone")).unwrap();
        let lines: Vec<usize> = source.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 4]);
        assert_eq!(
            source.excerpt(&source.entries[1]),
            "@ SOA ns h. ( 1 2 3 4 5 )"
        );
    }
}
