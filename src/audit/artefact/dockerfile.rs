//! A Dockerfile parser: parser directives (`# escape=`), line continuations (comments and
//! blank lines inside them dropped, as BuildKit does), heredocs, flags, exec vs shell form,
//! multi-stage builds and `ARG` expansion in `FROM`.

use ruff_text_size::{TextRange, TextSize};

use super::ParseError;
use super::command::Command;

#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    pub stages: Vec<Stage>,
    /// `ARG`s declared before the first `FROM`, with their defaults.
    pub global_args: Vec<(String, Option<String>)>,
    /// Every instruction, in order, for rules that do not care about stages.
    pub instruction_ranges: Vec<TextRange>,
    /// Comment lines (from `#` to the end of the line), between instructions or inside a
    /// continuation; a `#` after an instruction, or in a heredoc, is not one.
    pub comments: Vec<TextRange>,
}

#[derive(Debug, Clone)]
pub struct Stage {
    /// The base image as written, then with global `ARG` defaults expanded.
    pub image_raw: String,
    pub image: String,
    pub image_range: TextRange,
    /// `AS name`, lowercased (stage names are case-insensitive).
    pub name: Option<String>,
    /// The `FROM` instruction.
    pub from: Instruction,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone)]
pub struct Instruction {
    /// Uppercased keyword (`RUN`, `CMD`).
    pub keyword: String,
    /// `--name=value` flags before the arguments (`--from=build`, `--interval=30s`).
    pub flags: Vec<(String, String)>,
    /// The arguments after the flags, continuation lines joined with a space.
    pub args: String,
    /// The whole instruction, heredoc bodies included.
    pub range: TextRange,
    /// The arguments' first line up to the end of the instruction's last line.
    pub args_range: TextRange,
    /// Heredoc bodies (`RUN <<EOF ... EOF`).
    pub heredocs: Vec<String>,
}

impl Instruction {
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `CMD`/`ENTRYPOINT`/`RUN` arguments (for `HEALTHCHECK`, what follows `CMD`).
    pub fn command(&self) -> Option<Command> {
        let args = if self.keyword == "HEALTHCHECK" {
            let rest = self.args.trim_start();
            let word = rest.split_whitespace().next()?;
            if !word.eq_ignore_ascii_case("CMD") {
                return None;
            }
            &rest[word.len()..]
        } else {
            &self.args
        };
        Some(Command::parse(args))
    }

    /// `ENV`/`ARG`/`LABEL` pairs: `K=V K2="v 2"`, legacy `ENV K V`, and bare `ARG K`.
    pub fn pairs(&self) -> Vec<(String, Option<String>)> {
        let words = super::command::shell_words(&self.args);
        if self.keyword == "ENV"
            && let Some(first) = words.first()
            && !first.contains('=')
        {
            // Legacy `ENV KEY value with spaces`.
            let rest = self.args.trim_start()[first.len()..].trim();
            return vec![(first.clone(), Some(unquote(rest)))];
        }
        words
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (w, None),
            })
            .collect()
    }
}

fn unquote(s: &str) -> String {
    let t = s.trim();
    for q in ['"', '\''] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return t[1..t.len() - 1].to_string();
        }
    }
    t.to_string()
}

impl Dockerfile {
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stage a `FROM` names, by stage name.
    pub fn stage_named(&self, name: &str) -> Option<(usize, &Stage)> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .enumerate()
            .find(|(_, s)| s.name.as_deref() == Some(lower.as_str()))
    }

    /// The last instruction `keyword` in `stage` or, when the stage builds on an earlier stage
    /// (`FROM base`), in that stage's ancestry: what the image inherits.
    pub fn effective(&self, stage: usize, keyword: &str) -> Option<&Instruction> {
        let mut i = stage;
        for _ in 0..self.stages.len() {
            let s = &self.stages[i];
            if let Some(ins) = s.instructions.iter().rev().find(|x| x.keyword == keyword) {
                return Some(ins);
            }
            match self.stage_named(&s.image) {
                Some((j, _)) if j < i => i = j,
                _ => return None,
            }
        }
        None
    }

    /// The image a stage is built on at the root of its ancestry (`FROM base` followed to the
    /// stage that names an image).
    pub fn base_image(&self, stage: usize) -> &str {
        let mut i = stage;
        for _ in 0..self.stages.len() {
            match self.stage_named(&self.stages[i].image) {
                Some((j, _)) if j < i => i = j,
                _ => break,
            }
        }
        &self.stages[i].image
    }

    /// True when the stage's base image is an earlier stage, not an image.
    pub fn is_stage_ref(&self, stage: usize) -> bool {
        self.stage_named(&self.stages[stage].image)
            .is_some_and(|(j, _)| j < stage)
    }
}

const KEYWORDS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// A physical line: its text without the newline and where it starts.
struct Line<'a> {
    text: &'a str,
    start: usize,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    // A byte-order mark is no part of the first instruction (BuildKit drops it too); ranges
    // stay offsets into the whole text.
    let bom = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut start = bom;
    for piece in text[bom..].split_inclusive('\n') {
        let body = piece.strip_suffix('\n').unwrap_or(piece);
        let body = body.strip_suffix('\r').unwrap_or(body);
        out.push(Line { text: body, start });
        start += piece.len();
    }
    out
}

fn range(start: usize, end: usize) -> TextRange {
    TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32))
}

/// Parse a Dockerfile.
pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
    let lines = lines(text);
    let mut escape = '\\';
    let mut i = 0;
    // Parser directives: `# name=value` lines at the very top.
    while i < lines.len() {
        let t = lines[i].text.trim();
        let Some(body) = t.strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = body.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        if k.contains(char::is_whitespace) || k.is_empty() {
            break;
        }
        if k == "escape" {
            escape = match v.trim() {
                "`" => '`',
                "\\" => '\\',
                other => {
                    return Err(ParseError::new(
                        format!("invalid escape directive `{other}` (use `\\` or a backtick)"),
                        range(lines[i].start, lines[i].start + lines[i].text.len()),
                    ));
                }
            };
        }
        i += 1;
    }

    let mut instructions: Vec<Instruction> = Vec::new();
    let mut comments = Vec::new();
    // A comment line: from its `#` to the end of the line.
    let comment = |line: &Line| {
        let trimmed = line.text.trim_start();
        trimmed.starts_with('#').then(|| {
            range(
                line.start + line.text.len() - trimmed.len(),
                line.start + line.text.len(),
            )
        })
    };
    while i < lines.len() {
        let line = &lines[i];
        let trimmed = line.text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            comments.extend(comment(line));
            i += 1;
            continue;
        }
        let lead = line.text.len() - trimmed.len();
        let kw_start = line.start + lead;
        let kw_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let keyword = trimmed[..kw_len].to_ascii_uppercase();
        let kw_range = range(kw_start, kw_start + kw_len);
        if !KEYWORDS.contains(&keyword.as_str()) {
            return Err(ParseError::new(
                format!("unknown instruction `{}`", &trimmed[..kw_len]),
                kw_range,
            ));
        }
        // Join continuation lines.
        let mut args = String::new();
        let mut seg = &trimmed[kw_len..];
        let mut end;
        let mut args_start: Option<usize> = None;
        let mut seg_start = kw_start + kw_len;
        loop {
            let stripped = seg.trim_end();
            let continued = stripped.ends_with(escape);
            let piece = if continued {
                &stripped[..stripped.len() - escape.len_utf8()]
            } else {
                seg
            };
            if args_start.is_none() && !piece.trim().is_empty() {
                args_start = Some(seg_start + (piece.len() - piece.trim_start().len()));
            }
            if !args.is_empty() && !piece.trim().is_empty() {
                args.push(' ');
            }
            args.push_str(piece.trim());
            end = seg_start + seg.trim_end().len();
            i += 1;
            if !continued {
                break;
            }
            // Skip comment and blank lines inside the continuation.
            while i < lines.len() {
                let t = lines[i].text.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    comments.extend(comment(&lines[i]));
                    i += 1;
                } else {
                    break;
                }
            }
            if i >= lines.len() {
                break;
            }
            seg = lines[i].text;
            seg_start = lines[i].start;
        }
        let (flags, rest, rest_offset) = split_flags(&args);
        let args_text = rest.to_string();
        let args_begin = args_start.map_or(end, |s| s + rest_offset).min(end);
        // Heredocs: bodies follow the instruction, each ended by its delimiter line.
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (delim, strip_tabs) in heredoc_delimiters(&args_text) {
                let mut body = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let l = lines[i].text;
                    let cmp = if strip_tabs {
                        l.trim_start_matches('\t')
                    } else {
                        l
                    };
                    end = lines[i].start + l.len();
                    i += 1;
                    if cmp == delim {
                        closed = true;
                        break;
                    }
                    body.push_str(cmp);
                    body.push('\n');
                }
                if !closed {
                    return Err(ParseError::new(
                        format!("heredoc `<<{delim}` is never closed by a `{delim}` line"),
                        kw_range,
                    ));
                }
                heredocs.push(body);
            }
        }
        instructions.push(Instruction {
            keyword,
            flags,
            args: args_text,
            range: range(kw_start, end),
            args_range: range(args_begin, end),
            heredocs,
        });
    }

    if instructions.is_empty() {
        return Err(ParseError::new(
            "no instructions, only comments or blank lines",
            range(0, text.len().min(1)),
        ));
    }
    let mut df = Dockerfile {
        instruction_ranges: instructions.iter().map(|i| i.range).collect(),
        comments,
        ..Dockerfile::default()
    };
    for ins in instructions {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins.args.split_whitespace().collect();
            let Some(image_raw) = words.first().map(|s| s.to_string()) else {
                return Err(ParseError::new("`FROM` without an image", ins.range));
            };
            let name = match (words.get(1), words.get(2)) {
                (Some(as_kw), Some(n)) if as_kw.eq_ignore_ascii_case("as") => {
                    Some(n.to_ascii_lowercase())
                }
                _ => None,
            };
            let image = expand(&image_raw, &df.global_args);
            let image_range = TextRange::at(
                ins.args_range.start(),
                TextSize::from(image_raw.len() as u32),
            );
            df.stages.push(Stage {
                image_raw,
                image,
                image_range,
                name,
                from: ins,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = df.stages.last_mut() {
            stage.instructions.push(ins);
        } else if ins.keyword == "ARG" {
            df.global_args.extend(ins.pairs());
        } else {
            return Err(ParseError::new(
                format!(
                    "`{}` before the first `FROM` (only `ARG` may come first)",
                    ins.keyword
                ),
                ins.range,
            ));
        }
    }
    if df.stages.is_empty() {
        return Err(ParseError::new(
            "no `FROM` instruction",
            range(0, text.len().min(1)),
        ));
    }
    Ok(df)
}

/// Leading `--name=value` / `--name` flags, the rest, and the rest's byte offset in `args`.
fn split_flags(args: &str) -> (Vec<(String, String)>, &str, usize) {
    let mut flags = Vec::new();
    let mut rest = args;
    loop {
        let t = rest.trim_start();
        let Some(body) = t.strip_prefix("--") else {
            break;
        };
        let word_len = body.find(char::is_whitespace).unwrap_or(body.len());
        let word = &body[..word_len];
        match word.split_once('=') {
            Some((k, v)) => flags.push((k.to_string(), v.to_string())),
            None => flags.push((word.to_string(), String::new())),
        }
        rest = &body[word_len..];
    }
    let rest = rest.trim_start();
    (flags, rest, args.len() - rest.len())
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` in a RUN/COPY/ADD line: (delimiter, strip leading tabs).
fn heredoc_delimiters(args: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(pos) = rest.find("<<") {
        let mut after = &rest[pos + 2..];
        let strip = after.starts_with('-');
        if strip {
            after = &after[1..];
        }
        let quoted = after.starts_with('"') || after.starts_with('\'');
        let body = if quoted { &after[1..] } else { after };
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if len > 0 {
            out.push((body[..len].to_string(), strip));
        }
        rest = &body[len..];
    }
    out
}

/// Expand `$VAR`, `${VAR}` and `${VAR:-default}` from `vars`' defaults; unknown variables stay.
pub fn expand(s: &str, vars: &[(String, Option<String>)]) -> String {
    let lookup = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let rest = &s[i + 1..];
        if let Some(inner) = rest.strip_prefix('{')
            && let Some(close) = inner.find('}')
        {
            let body = &inner[..close];
            let (name, default) = match body.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (body, None),
            };
            match lookup(name).or(default.map(str::to_string)) {
                Some(v) => out.push_str(&v),
                None => out.push_str(&s[i..i + 2 + close + 1]),
            }
            for _ in 0..close + 2 {
                chars.next();
            }
            continue;
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            out.push('$');
            continue;
        }
        match lookup(&rest[..len]) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&s[i..i + 1 + len]),
        }
        for _ in 0..len {
            chars.next();
        }
    }
    out
}

/// An image reference split into name, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    pub name: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    pub fn parse(image: &'a str) -> ImageRef<'a> {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (image, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        match rest[slash..].rfind(':') {
            Some(c) => ImageRef {
                name: &rest[..slash + c],
                tag: Some(&rest[slash + c + 1..]),
                digest,
            },
            None => ImageRef {
                name: rest,
                tag: None,
                digest,
            },
        }
    }

    /// Why the reference is not pinned: `latest` or no tag at all; None when it has a digest
    /// or a fixed tag.
    pub fn unpinned(&self) -> Option<&'static str> {
        if self.digest.is_some() {
            return None;
        }
        match self.tag {
            None => Some("untagged (it means `:latest`)"),
            Some(t) if t.eq_ignore_ascii_case("latest") => Some("tagged `:latest`"),
            Some(_) => None,
        }
    }

    /// The last path component of the name: `orders` for `ghcr.io/acme/orders`.
    pub fn short_name(&self) -> &'a str {
        self.name.rsplit('/').next().unwrap_or(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::super::command::Form;
    use super::*;

    #[test]
    fn stages_flags_and_forms() {
        let src = "# syntax=docker/dockerfile:1\nARG PY=3.12\nFROM python:${PY}-slim AS build\nRUN pip install \\\n    # a comment inside\n    fastapi\n\nFROM build\nUSER app\nHEALTHCHECK --interval=30s CMD curl -f http://localhost:8000/healthz\nCMD [\"uvicorn\", \"app.main:app\"]\n";
        let df = parse(src).unwrap();
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].image, "python:3.12-slim");
        assert_eq!(df.stages[0].name.as_deref(), Some("build"));
        assert_eq!(&src[df.stages[0].image_range], "python:${PY}-slim");
        let run = &df.stages[0].instructions[0];
        assert_eq!(run.args, "pip install fastapi");
        assert_eq!(
            &src[run.range],
            "RUN pip install \\\n    # a comment inside\n    fastapi"
        );
        assert!(df.is_stage_ref(1));
        let hc = &df.stages[1].instructions[1];
        assert_eq!(hc.flag("interval"), Some("30s"));
        assert!(matches!(hc.command().unwrap().form, Form::Shell));
        let cmd = &df.stages[1].instructions[2];
        assert_eq!(
            cmd.command().unwrap().words,
            vec!["uvicorn".to_string(), "app.main:app".to_string()]
        );
        assert!(matches!(cmd.command().unwrap().form, Form::Exec));
        assert_eq!(df.effective(1, "USER").unwrap().args, "app");
    }

    #[test]
    fn escape_directive_and_heredoc() {
        let src = "# escape=`\nFROM mcr.microsoft.com/windows:ltsc2022\nRUN echo a `\n  b\nRUN <<EOF\nset -e\necho hi\nEOF\nCOPY <<-'CONF' /etc/x.conf\n\tkey=value\n\tCONF\nUSER 1000\n";
        let df = parse(src).unwrap();
        let ins = &df.stages[0].instructions;
        assert_eq!(ins[0].args, "echo a b");
        assert_eq!(ins[1].heredocs, vec!["set -e\necho hi\n".to_string()]);
        assert_eq!(ins[2].heredocs, vec!["key=value\n".to_string()]);
        assert_eq!(ins[3].keyword, "USER");
    }

    #[test]
    fn env_pairs() {
        let df =
            parse("FROM x:1\nENV A=1 B=\"two words\"\nENV LEGACY some value\nARG TOKEN\n").unwrap();
        let ins = &df.stages[0].instructions;
        assert_eq!(
            ins[0].pairs(),
            vec![
                ("A".into(), Some("1".into())),
                ("B".into(), Some("two words".into()))
            ]
        );
        assert_eq!(
            ins[1].pairs(),
            vec![("LEGACY".into(), Some("some value".into()))]
        );
        assert_eq!(ins[2].pairs(), vec![("TOKEN".into(), None)]);
    }

    #[test]
    fn byte_order_mark() {
        let src = "\u{feff}FROM python:3.12\nCMD [\"x\"]\n";
        let df = parse(src).unwrap();
        assert_eq!(&src[df.stages[0].image_range], "python:3.12");
        assert_eq!(&src[df.stages[0].from.range], "FROM python:3.12");
    }

    #[test]
    fn malformed() {
        assert!(
            parse("# only a comment\n\n")
                .unwrap_err()
                .message
                .contains("no instructions")
        );
        assert!(
            parse("RUN x\n")
                .unwrap_err()
                .message
                .contains("before the first `FROM`")
        );
        assert!(
            parse("FROM x\nFROBNICATE y\n")
                .unwrap_err()
                .message
                .contains("unknown")
        );
        assert!(
            parse("FROM x\nRUN <<EOF\nnever closed\n")
                .unwrap_err()
                .message
                .contains("heredoc")
        );
    }

    #[test]
    fn image_refs() {
        let r = ImageRef::parse("localhost:5000/team/app");
        assert_eq!((r.name, r.tag), ("localhost:5000/team/app", None));
        assert!(r.unpinned().is_some());
        assert!(ImageRef::parse("python:latest").unpinned().is_some());
        assert!(ImageRef::parse("python:3.12-slim").unpinned().is_none());
        assert!(ImageRef::parse("python@sha256:abc").unpinned().is_none());
        assert_eq!(
            ImageRef::parse("ghcr.io/acme/orders:1.2").short_name(),
            "orders"
        );
        assert_eq!(
            expand("a-${X:-d}-$Y-${Z}", &[("Y".into(), Some("y".into()))]),
            "a-d-y-${Z}"
        );
    }
}
