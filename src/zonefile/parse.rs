//! Reading a zone: directives, records and `$INCLUDE`d files, every fault
//! collected with its file, line and column.
//!
//! Directives as BIND reads them: `$ORIGIN name`, `$TTL ttl`, `$INCLUDE file
//! [origin]` (relative to the including file's directory; the including
//! file's origin and owner are back in force after it, RFC 1035 §5.1) and
//! `$GENERATE`. A record's TTL is its own, else `$TTL`, else the last TTL
//! given; an SOA with none of them takes its MINIMUM (as BIND does).

use std::path::{Path, PathBuf};

use super::{
    error::{FaultKind, IncludeProblem, MAX_FAULTS, ReadProblem, ZoneFault, ZoneRule},
    generate,
    lexer::{Entry, Lexer, Token, excerpt},
    rdata::{self, Fields},
    read::Budget,
    records::{self, RrSet, RrSets},
    rules::Rules,
    text, types,
};

/// A fault, and until its file is read to the end, where it came from:
/// only then is it known whether the file reads as zone text.
struct Pending {
    fault: ZoneFault,
    file: Option<usize>,
    /// Byte range of the entry in its file, for the excerpt.
    span: (usize, usize),
}

/// The state that one file's entries change, restored after an `$INCLUDE`.
struct FileState {
    origin: Vec<u8>,
    owner: Option<Vec<u8>>,
}

pub(crate) struct Loader {
    budget: Budget,
    files: Vec<PathBuf>,
    /// Canonical paths of the files being read, outermost first.
    stack: Vec<PathBuf>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    rules: Rules,
    records: RrSets,
    /// Scratch space for checking hickory's encoding of a record.
    scratch: Vec<u8>,
    /// Scratch space for the RDATA of the record being read.
    rdata: Vec<u8>,
    /// Every fault so far, in the order found.
    faults: Vec<Pending>,
}

/// A fault of one entry: line, column and what.
type EntryFault = Box<(usize, Option<usize>, FaultKind)>;
type EntryResult = Result<(), EntryFault>;

impl Loader {
    pub(crate) fn new(origin: &[u8], budget: Budget) -> Self {
        Self {
            budget,
            files: Vec::new(),
            stack: Vec::new(),
            default_ttl: None,
            last_ttl: None,
            rules: Rules::new(origin),
            records: RrSets::default(),
            scratch: Vec::new(),
            rdata: Vec::new(),
            faults: Vec::new(),
        }
    }

    pub(crate) fn has_soa(&self) -> bool {
        self.rules.has_soa()
    }

    pub(crate) fn read_problem(&mut self, path: &Path, problem: ReadProblem) {
        self.zone_fault(path, FaultKind::Read(problem));
    }

    /// Reads `text`, the content of `path`, starting at `origin`.
    pub(crate) fn file(&mut self, path: &Path, text: &[u8], origin: Vec<u8>) {
        let file = self.files.len();
        self.files.push(path.to_path_buf());
        self.stack.push(canonical(path));
        let mut state = FileState {
            origin,
            owner: None,
        };
        let first_fault = self.faults.len();
        let mut parsed_any = false;
        for item in Lexer::new(text) {
            let (span, result) = match item {
                Err(e) => (
                    (e.start, e.end),
                    Err(Box::new((
                        e.line,
                        Some(e.col),
                        FaultKind::Syntax(e.message),
                    ))),
                ),
                Ok(entry) => {
                    // A directive is zone text even when it fails.
                    parsed_any |= is_directive(&entry);
                    (
                        (entry.start, entry.end),
                        self.entry(file, &entry, &mut state),
                    )
                }
            };
            match result {
                Ok(()) => parsed_any = true,
                Err(fault) => {
                    let (line, column, kind) = *fault;
                    self.faults.push(Pending {
                        fault: ZoneFault {
                            path: path.to_path_buf(),
                            line: Some(line),
                            column,
                            kind,
                            excerpt: None,
                        },
                        file: Some(file),
                        span,
                    })
                }
            }
        }
        self.stack.pop();
        self.settle(file, first_fault, parsed_any, text);
    }

    /// Settles the faults of `file` once it is read: with excerpts when the
    /// file reads as zone text, else as one fault that quotes nothing of it.
    fn settle(&mut self, file: usize, first: usize, parsed_any: bool, text: &[u8]) {
        let own = |p: &Pending| p.file == Some(file);
        if parsed_any {
            for p in self.faults[first..].iter_mut().filter(|p| own(p)) {
                p.fault.excerpt = Some(excerpt(text, p.span.0, p.span.1));
                p.file = None;
            }
            return;
        }
        let count = self.faults[first..].iter().filter(|p| own(p)).count();
        let Some(at) = self.faults[first..].iter().position(own).map(|i| first + i) else {
            return;
        };
        let line = self.faults[at].fault.line.unwrap_or(1);
        let summary = &mut self.faults[at];
        summary.fault.kind = FaultKind::NotZoneText {
            faults: count,
            line,
        };
        summary.fault.line = None;
        summary.fault.column = None;
        summary.file = None;
        let mut index = 0;
        self.faults.retain(|p| {
            index += 1;
            index <= first || !own(p)
        });
    }

    /// A fault of the whole zone (no line).
    pub(crate) fn zone_fault(&mut self, path: &Path, kind: FaultKind) {
        self.faults.push(Pending {
            fault: ZoneFault {
                path: path.to_path_buf(),
                line: None,
                column: None,
                kind,
                excerpt: None,
            },
            file: None,
            span: (0, 0),
        });
    }

    fn entry(&mut self, file: usize, entry: &Entry<'_>, state: &mut FileState) -> EntryResult {
        let first = &entry.tokens[0];
        if !entry.indented && !first.quoted && first.text.starts_with(b"$") {
            return self.directive(file, &entry.tokens, state);
        }
        self.record(&entry.tokens, entry.indented, state)
    }

    fn directive(
        &mut self,
        file: usize,
        tokens: &[Token<'_>],
        state: &mut FileState,
    ) -> EntryResult {
        let word = &tokens[0];
        let args = &tokens[1..];
        let at = |t: &Token<'_>, kind: FaultKind| -> EntryFault {
            Box::new((t.line, Some(t.col), kind))
        };
        let syntax = |t: &Token<'_>, m: String| at(t, FaultKind::Syntax(m));
        let arg = |i: usize, what: &str| {
            args.get(i)
                .ok_or_else(|| syntax(word, format!("{} needs {what}", word.show())))
        };
        let no_more = |n: usize| match args.get(n) {
            Some(t) => Err(syntax(t, "unexpected text after the directive".into())),
            None => Ok(()),
        };
        if word.is("$ORIGIN") {
            let token = arg(0, "a domain name")?;
            state.origin = text::name(&token.text, &state.origin).map_err(|m| syntax(token, m))?;
            no_more(1)
        } else if word.is("$TTL") {
            let token = arg(0, "a TTL")?;
            self.default_ttl = Some(text::ttl(&token.text).map_err(|m| syntax(token, m))?);
            no_more(1)
        } else if word.is("$INCLUDE") {
            let fail = |p| at(word, FaultKind::Include(p));
            let target = args
                .first()
                .ok_or_else(|| fail(IncludeProblem::MissingFile))?;
            let origin = match args.get(1) {
                Some(token) => text::name(&token.text, &state.origin).map_err(|message| {
                    at(
                        token,
                        FaultKind::Include(IncludeProblem::BadOrigin { message }),
                    )
                })?,
                None => state.origin.clone(),
            };
            no_more(2)?;
            let target = text::unescape(&target.text).map_err(|m| syntax(target, m))?;
            let target = PathBuf::from(String::from_utf8_lossy(&target).into_owned());
            self.include(file, &target, origin).map_err(fail)
        } else if word.is("$GENERATE") {
            self.generate(args, state)
                .map_err(|(i, m)| syntax(i.and_then(|i| args.get(i)).unwrap_or(word), m))
        } else {
            Err(syntax(word, format!("unknown directive {}", word.show())))
        }
    }

    fn include(
        &mut self,
        file: usize,
        target: &Path,
        origin: Vec<u8>,
    ) -> Result<(), IncludeProblem> {
        // Relative to the including file's directory, so a zone directory
        // can move as a whole.
        let target = match self.files[file].parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target.to_path_buf(),
        };
        if self.stack.len() > self.budget.limits.max_include_depth {
            return Err(IncludeProblem::TooDeep {
                max: self.budget.limits.max_include_depth,
            });
        }
        if self.stack.contains(&canonical(&target)) {
            return Err(IncludeProblem::Loop { path: target });
        }
        let text = match self.budget.read(&target) {
            Ok(text) => text,
            Err(source) => {
                return Err(IncludeProblem::Read {
                    path: target,
                    source,
                });
            }
        };
        // The included file starts with its own owner; the parent's state
        // is untouched (it lives in the caller's FileState).
        self.file(&target, &text, origin);
        Ok(())
    }

    /// Expands `$GENERATE` (`args` after the word); a fault names the
    /// index of the argument to blame.
    fn generate(
        &mut self,
        args: &[Token<'_>],
        state: &mut FileState,
    ) -> Result<(), (Option<usize>, String)> {
        let range_token = args
            .first()
            .ok_or((None, "$GENERATE needs a range".to_string()))?;
        let range = generate::Range::parse(&range_token.text).map_err(|m| (Some(0), m))?;
        if args.len() < 4 {
            return Err((
                None,
                "$GENERATE needs a range, an owner, a type and RDATA".into(),
            ));
        }
        let limit = self.budget.limits.max_generated;
        if self.budget.generated + range.len() > limit {
            return Err((
                Some(0),
                format!("$GENERATE would make more than {limit} records in this zone"),
            ));
        }
        self.budget.generated += range.len();
        for tokens in generate::expand(&args[1..], range) {
            let tokens = tokens.map_err(|(i, m)| (Some(i + 1), m))?;
            // One fault for the directive, not one per value.
            self.record(&tokens, false, state)
                .map_err(|fault| (None, fault.2.to_string()))?;
        }
        Ok(())
    }

    fn record(
        &mut self,
        tokens: &[Token<'_>],
        indented: bool,
        state: &mut FileState,
    ) -> EntryResult {
        let at = |t: &Token<'_>, m: String| -> EntryFault {
            Box::new((t.line, Some(t.col), FaultKind::Syntax(m)))
        };
        let mut i = 0;
        let owner = if indented {
            state.owner.clone().ok_or_else(|| {
                at(
                    &tokens[0],
                    "no owner: the first record starts with a blank".into(),
                )
            })?
        } else {
            i = 1;
            let owner =
                text::name(&tokens[0].text, &state.origin).map_err(|m| at(&tokens[0], m))?;
            state.owner = Some(owner.clone());
            owner
        };
        let (mut ttl, mut class, mut code) = (None, None, None);
        while let Some(token) = tokens.get(i) {
            i += 1;
            if ttl.is_none() && !token.quoted && text::looks_like_ttl(&token.text) {
                ttl = Some(text::ttl(&token.text).map_err(|m| at(token, m))?);
            } else if let (None, Some(c)) = (class, types::class(&token.text)) {
                class = Some(c);
            } else if let Some(c) = types::rtype(&token.text) {
                code = Some(c);
                break;
            } else {
                return Err(at(token, format!("unknown record type `{}`", token.show())));
            }
        }
        let last = tokens.last().unwrap_or(&tokens[0]);
        let end = |m: String| -> EntryFault {
            Box::new((
                last.line,
                Some(last.col + last.text.len()),
                FaultKind::Syntax(m),
            ))
        };
        let code = code.ok_or_else(|| end("missing record type".into()))?;
        let type_token = &tokens[i - 1];
        if types::is_meta(code) {
            return Err(at(
                type_token,
                format!("{} is not a type of zone data", types::rtype_name(code)),
            ));
        }
        let rdata_tokens = &tokens[i..];
        let mut rdata = std::mem::take(&mut self.rdata);
        rdata.clear();
        let mut fields = Fields::new(rdata_tokens, &state.origin);
        rdata::encode(code, &mut fields, &mut rdata).map_err(|e| match e.token {
            Some(t) => at(&rdata_tokens[t], e.message),
            None => end(e.message),
        })?;
        if rdata.len() > usize::from(u16::MAX) {
            return Err(at(
                type_token,
                format!("RDATA of {} octets, more than 65535", rdata.len()),
            ));
        }
        let ttl = match ttl.or(self.default_ttl).or(self.last_ttl) {
            Some(ttl) => ttl,
            // BIND's rule: an SOA without a TTL takes its MINIMUM.
            None if code == 6 => {
                u32::from_be_bytes(rdata[rdata.len() - 4..].try_into().unwrap_or_default())
            }
            None => {
                return Err(at(
                    &tokens[0],
                    "no TTL: give the record one, or put $TTL before it".into(),
                ));
            }
        };
        self.last_ttl = Some(ttl);
        let rule = |rule: ZoneRule| -> EntryFault {
            Box::new((tokens[0].line, Some(tokens[0].col), FaultKind::Rule(rule)))
        };
        let class = class.unwrap_or(1);
        if class != 1 {
            return Err(rule(ZoneRule::NotClassIn {
                owner: super::rules::to_name(&owner),
                class: types::class_name(class),
            }));
        }
        let data =
            records::rdata(code, &rdata, &mut self.scratch).map_err(|m| at(type_token, m))?;
        self.rules
            .check(&owner, code, &rdata)
            .map_err(|r| rule(*r))?;
        self.records.add(&owner, ttl, code, data);
        self.rdata = rdata;
        Ok(())
    }

    /// The records read and every fault found (at most `MAX_FAULTS`, then a count).
    pub(crate) fn finish(self) -> (Vec<RrSet>, Vec<ZoneFault>) {
        let mut faults: Vec<ZoneFault> = self.faults.into_iter().map(|p| p.fault).collect();
        if faults.len() > MAX_FAULTS {
            let more = faults.len() - MAX_FAULTS;
            faults.truncate(MAX_FAULTS);
            let path = faults[0].path.clone();
            faults.push(ZoneFault {
                path,
                line: None,
                column: None,
                kind: FaultKind::More(more),
                excerpt: None,
            });
        }
        (self.records.finish(), faults)
    }
}

fn is_directive(entry: &Entry<'_>) -> bool {
    let first = &entry.tokens[0];
    !entry.indented
        && ["$ORIGIN", "$TTL", "$INCLUDE", "$GENERATE"]
            .iter()
            .any(|d| first.is(d))
}

/// Best effort: a path that cannot be canonicalized (it does not exist)
/// is compared as written; reading it fails right after anyway.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}
