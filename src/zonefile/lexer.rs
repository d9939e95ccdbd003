//! Splitting zone-file text into entries of tokens, as BIND's lexer does.
//!
//! An entry is one record or directive: the tokens up to the end of a line,
//! or of the line that closes a `(`. Every token keeps its 1-based line and
//! column, so any later fault can be pinned on the token to blame. Escapes
//! are kept raw (`\DDD`, `\X`): a name and a character string read them
//! differently (`\.` is a dot inside a label, not a separator).
//!
//! Rules: `;` starts a comment outside quotes; `(` and `)` outside quotes
//! open and close a multi-line entry (they do not nest); `"` starts a quoted
//! token that runs to the next unescaped `"` on the same line; `\` escapes
//! the next character everywhere; an entry whose first line starts with a
//! blank has no owner of its own (the previous owner's).

use std::borrow::Cow;

/// One token of an entry.
#[derive(Debug, Clone)]
pub(crate) struct Token<'a> {
    /// The token's text, escapes kept raw, quotes removed.
    pub(crate) text: Cow<'a, [u8]>,
    /// It was written in double quotes.
    pub(crate) quoted: bool,
    /// It follows the previous token with no blank between (`key="value"`).
    pub(crate) joined: bool,
    pub(crate) line: usize,
    pub(crate) col: usize,
}

impl Token<'_> {
    /// The token is this word, ASCII case ignored (only unquoted tokens are words).
    pub(crate) fn is(&self, word: &str) -> bool {
        !self.quoted && self.text.eq_ignore_ascii_case(word.as_bytes())
    }

    /// The text for messages (escapes kept).
    pub(crate) fn show(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// One record or directive.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub(crate) tokens: Vec<Token<'a>>,
    /// The first line starts with a blank: the owner is the previous one.
    pub(crate) indented: bool,
    /// Byte range of the entry in the file, for excerpts.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// A fault of the lexer, at a line and column.
#[derive(Debug, Clone)]
pub(crate) struct LexError {
    pub(crate) line: usize,
    pub(crate) col: usize,
    pub(crate) message: String,
    /// Byte range of the broken entry.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Iterates the entries of a file's text; after an error it resumes at the
/// next line, so every fault of a file is found in one pass.
pub(crate) struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    fn col(&self, pos: usize) -> usize {
        pos - self.line_start + 1
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Skips to just past the end of the current line.
    fn skip_line(&mut self) {
        while self.pos < self.text.len() && self.text[self.pos] != b'\n' {
            self.pos += 1;
        }
        if self.pos < self.text.len() {
            self.newline();
        }
    }

    fn fail(&mut self, line: usize, col: usize, start: usize, message: String) -> LexError {
        self.skip_line();
        LexError {
            line,
            col,
            message,
            start,
            end: self.pos,
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Result<Entry<'a>, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.text;
        // Most records have fewer than eight tokens: one allocation.
        let mut tokens: Vec<Token<'a>> = Vec::with_capacity(8);
        let mut open: Option<(usize, usize)> = None;
        let mut start = self.pos;
        let mut indented = false;
        let mut blank_before = true;
        loop {
            let Some(&byte) = text.get(self.pos) else {
                if let Some((line, col)) = open {
                    let end = self.pos;
                    return Some(Err(LexError {
                        line,
                        col,
                        message: "`(` is never closed".into(),
                        start,
                        end,
                    }));
                }
                return (!tokens.is_empty()).then_some(Ok(Entry {
                    tokens,
                    indented,
                    start,
                    end: self.pos,
                }));
            };
            match byte {
                b'\n' => {
                    self.newline();
                    if open.is_none() {
                        if !tokens.is_empty() {
                            return Some(Ok(Entry {
                                tokens,
                                indented,
                                start,
                                end: self.pos,
                            }));
                        }
                        start = self.pos;
                    }
                    blank_before = true;
                }
                b' ' | b'\t' | b'\r' => {
                    if tokens.is_empty() && open.is_none() && self.pos == self.line_start {
                        indented = true;
                    }
                    self.pos += 1;
                    blank_before = true;
                }
                b';' => {
                    while self.pos < text.len() && text[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'(' => {
                    let (line, col) = (self.line, self.col(self.pos));
                    if open.is_some() {
                        return Some(Err(self.fail(
                            line,
                            col,
                            start,
                            "`(` inside parentheses".into(),
                        )));
                    }
                    open = Some((line, col));
                    self.pos += 1;
                    blank_before = true;
                }
                b')' => {
                    let (line, col) = (self.line, self.col(self.pos));
                    if open.is_none() {
                        return Some(Err(self.fail(line, col, start, "`)` without `(`".into())));
                    }
                    open = None;
                    self.pos += 1;
                    blank_before = true;
                }
                b'"' => {
                    let (line, col) = (self.line, self.col(self.pos));
                    let begin = self.pos + 1;
                    let mut end = begin;
                    while end < text.len() && !matches!(text[end], b'"' | b'\n') {
                        end += if text[end] == b'\\' && end + 1 < text.len() {
                            2
                        } else {
                            1
                        };
                    }
                    if end >= text.len() || text[end] != b'"' {
                        return Some(Err(self.fail(
                            line,
                            col,
                            start,
                            "quoted string not closed on its line".into(),
                        )));
                    }
                    tokens.push(Token {
                        text: Cow::Borrowed(&text[begin..end]),
                        quoted: true,
                        joined: !blank_before,
                        line,
                        col,
                    });
                    self.pos = end + 1;
                    blank_before = false;
                }
                _ => {
                    let (line, col) = (self.line, self.col(self.pos));
                    let begin = self.pos;
                    let mut end = begin;
                    while end < text.len() {
                        match text[end] {
                            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                            b'\\' if end + 1 < text.len() && text[end + 1] != b'\n' => end += 2,
                            _ => end += 1,
                        }
                    }
                    tokens.push(Token {
                        text: Cow::Borrowed(&text[begin..end]),
                        quoted: false,
                        joined: !blank_before,
                        line,
                        col,
                    });
                    self.pos = end;
                    blank_before = false;
                }
            }
        }
    }
}

/// An entry's text for an error message: on one line, shortened.
pub(crate) fn excerpt(text: &[u8], start: usize, end: usize) -> String {
    const MAX: usize = 100;
    let raw = String::from_utf8_lossy(&text[start..end.min(text.len())]);
    let mut out = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > MAX {
        out = out.chars().take(MAX).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<Vec<(String, usize, usize)>> {
        Lexer::new(text.as_bytes())
            .map(|e| {
                e.unwrap()
                    .tokens
                    .iter()
                    .map(|t| (t.show(), t.line, t.col))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn entries_follow_parentheses_quotes_and_comments() {
        let text = "a A 127.0.0.1\n@ SOA ns h. ( 1 ; serial )\n 2 3 4 5 )\nt TXT \"x;(y\" ; c (\n";
        let got = entries(text);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].len(), 9);
        assert_eq!(got[1][5], ("2".into(), 3, 2));
        assert_eq!(got[2][2], ("x;(y".into(), 4, 7));
    }

    #[test]
    fn escapes_stay_raw_and_joined_tokens_are_marked() {
        let mut lexer = Lexer::new(b"a\\ b\\;c key=\"v w\" \\# 1 00\n");
        let entry = lexer.next().unwrap().unwrap();
        assert_eq!(&*entry.tokens[0].text, b"a\\ b\\;c");
        assert_eq!(&*entry.tokens[1].text, b"key=");
        assert!(entry.tokens[2].joined && entry.tokens[2].quoted);
        assert!(!entry.tokens[3].joined);
    }

    #[test]
    fn errors_resume_at_the_next_line() {
        let got: Vec<_> = Lexer::new(b"a ) b\nc\nd \"open\ne ( 1\n").collect();
        assert_eq!(got[0].as_ref().unwrap_err().col, 3);
        assert_eq!(got[1].as_ref().unwrap().tokens[0].show(), "c");
        assert_eq!(got[2].as_ref().unwrap_err().line, 3);
        let unclosed = got[3].as_ref().unwrap_err();
        assert_eq!((unclosed.line, unclosed.col), (4, 3));
    }

    #[test]
    fn indented_entries_have_no_owner() {
        let entry = Lexer::new(b"\tA 127.0.0.1\n").next().unwrap().unwrap();
        assert!(entry.indented);
    }
}
