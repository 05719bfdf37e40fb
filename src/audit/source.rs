//! Source files as the audit sees them: path, text, line index, and what kind of file.

use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ruff_text_size::{TextRange, TextSize};

pub type FileId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Python,
    Dockerfile,
    Yaml,
    Json,
    /// pyproject.toml, requirements*.txt, setup.cfg, Pipfile: declared dependencies.
    Manifest,
    /// nginx / Traefik / Kong and similar proxy configuration.
    ProxyConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// Ordinary code of the service.
    Service,
    /// Tests: `tests/`, `test_*.py`, `*_test.py`, `conftest.py`.
    Test,
    /// One-off scripts and tooling: `scripts/`, `bin/`, `tools/`, `cli/`, `examples/`, `docs/`,
    /// benchmarks and load tests, `manage.py`, migrations.
    Script,
    /// Scaffolding a generator copies into a new project (`templates/`, `template/`,
    /// `project_templates/`, a cookiecutter `{{cookiecutter.x}}` directory): Python there is
    /// neither the service's code nor its tooling. Deployment artefacts there are still read
    /// (a Helm chart keeps its manifests in `templates/`).
    Scaffold,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Path relative to the audited root, with `/` separators.
    pub rel: String,
    pub kind: FileKind,
    pub role: FileRole,
    /// The text, while it is held; see [`SourceFile::text`].
    text: OnceLock<Box<str>>,
    /// Length of the text as first read, and its digest once released: a text read again
    /// must match both.
    len: TextSize,
    digest: u64,
    /// The text exists only in memory: never released.
    keep: bool,
    /// Where each line starts: made on first use, which only a file with a finding or a
    /// suppression comment sees (most files of a large repository never do).
    line_starts: OnceLock<Box<[TextSize]>>,
    /// Characters before every [`CHAR_BLOCK`]th byte, made on first use by a column far
    /// into a long line: each column then counts at most a block, not the line up to it.
    char_blocks: OnceLock<Box<[u32]>>,
}

/// Bytes per entry of [`SourceFile::char_blocks`].
const CHAR_BLOCK: usize = 256;

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

impl SourceFile {
    pub fn new(path: PathBuf, rel: String, kind: FileKind, text: String) -> Self {
        let role = role_of(&rel);
        SourceFile {
            path,
            rel,
            kind,
            role,
            len: TextSize::of(text.as_str()),
            digest: 0,
            text: OnceLock::from(text.into_boxed_str()),
            keep: false,
            line_starts: OnceLock::new(),
            char_blocks: OnceLock::new(),
        }
    }

    /// The file's text. After [`SourceFile::release_text`] it is read again from disk on
    /// first use (to report a finding); if the file changed since the audit read it, the
    /// text is empty rather than wrong, and spans into it are clamped where they are used.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| {
            let read = read_source(&self.path, u64::from(u32::from(self.len)));
            let Ok(Contents::Bytes(bytes)) = read else {
                return Box::default();
            };
            Some(bytes)
                .filter(|b| b.len() == usize::from(self.len) && digest(b) == self.digest)
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default()
                .into_boxed_str()
        })
    }

    /// The text in `range`, or "" when the range does not fit the text (see
    /// [`SourceFile::text`]).
    pub fn slice(&self, range: TextRange) -> &str {
        self.text()
            .get(range.start().into()..range.end().into())
            .unwrap_or("")
    }

    /// Length of the text as first read.
    pub fn len(&self) -> TextSize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == TextSize::from(0)
    }

    /// Where each line starts (see [`SourceFile::text`] for a file changed since it was read).
    fn line_starts(&self) -> &[TextSize] {
        self.line_starts.get_or_init(|| {
            // Lines end as Python's own do: at `\n`, `\r\n` or a lone `\r`.
            let bytes = self.text().as_bytes();
            std::iter::once(TextSize::from(0))
                .chain(
                    memchr::memchr2_iter(b'\n', b'\r', bytes)
                        .filter(|&i| !(bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n')))
                        .map(|i| TextSize::from(i as u32 + 1)),
                )
                .collect()
        })
    }

    pub fn line_col(&self, offset: TextSize) -> LineCol {
        let offset = offset.min(self.len);
        let line_starts = self.line_starts();
        let line = match line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = line_starts[line];
        let column = match self.text().get(usize::from(start)..usize::from(offset)) {
            Some(s) => self.chars_in(usize::from(start), s),
            // The text is gone (changed on disk): bytes are the best count left.
            None => u32::from(offset - start),
        } + 1;
        // A byte-order mark is not a column anyone sees.
        let column = match line == 0 && offset > start && self.text().starts_with('\u{feff}') {
            true => column - 1,
            false => column,
        };
        LineCol {
            line: line as u32 + 1,
            column,
        }
    }

    /// The number of characters of `s`, the text from byte `start` on: counted, or for a
    /// long stretch, looked up.
    fn chars_in(&self, start: usize, s: &str) -> u32 {
        if s.len() <= 4 * CHAR_BLOCK {
            return s.chars().count() as u32;
        }
        let bytes = self.text().as_bytes();
        let blocks = self.char_blocks.get_or_init(|| {
            let mut before = 0u32;
            let mut blocks = Vec::with_capacity(bytes.len() / CHAR_BLOCK + 1);
            for block in bytes.chunks(CHAR_BLOCK) {
                blocks.push(before);
                before += count_chars(block);
            }
            blocks.push(before);
            blocks.into_boxed_slice()
        });
        // Characters start at every byte that is not a continuation byte.
        let before = |at: usize| {
            let block = at / CHAR_BLOCK;
            blocks[block] + count_chars(&bytes[block * CHAR_BLOCK..at])
        };
        before(start + s.len()) - before(start)
    }

    /// The file was read again (its text had been released) and is not what the audit read
    /// any more: changed, replaced or gone. Positions into it cannot be shown. Reads it if
    /// it was not read yet.
    pub fn changed_since_read(&self) -> bool {
        self.text().len() != usize::from(self.len)
    }

    /// 1-based line number of an offset.
    pub fn line_of(&self, offset: TextSize) -> u32 {
        match self.line_starts().binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// The range of a whole 1-based line, without its newline.
    pub fn line_range(&self, line: u32) -> TextRange {
        let i = (line.max(1) - 1) as usize;
        let line_starts = self.line_starts();
        let start = line_starts.get(i).copied().unwrap_or_default();
        let end = line_starts
            .get(i + 1)
            .map(|e| *e - TextSize::from(1))
            .unwrap_or(self.len);
        TextRange::new(start, end.max(start))
    }

    /// Drop the text once its facts are extracted; it is read again if a finding needs it.
    pub fn release_text(&mut self) {
        if !self.keep
            && let Some(text) = self.text.take()
        {
            // Only a released text is ever read again: only it needs a digest.
            self.digest = digest(text.as_bytes());
        }
    }

    /// The text has no file behind it to read again from: keep it.
    pub fn keep_text(&mut self) {
        self.keep = true;
    }

    pub fn is_test(&self) -> bool {
        self.role == FileRole::Test
    }

    pub fn is_scaffold(&self) -> bool {
        self.role == FileRole::Scaffold
    }

    /// Dotted module path (`services.orders.app.main`) and whether it is a package
    /// `__init__`.
    pub fn python_module(&self) -> (String, bool) {
        let stem = self.rel.strip_suffix(".py").unwrap_or(&self.rel);
        let (stem, is_package) = match stem.strip_suffix("/__init__") {
            Some(pkg) => (pkg, true),
            None if stem == "__init__" => ("", true),
            None => (stem, false),
        };
        (stem.replace('/', "."), is_package)
    }
}

/// Characters in UTF-8 `bytes` cut anywhere: the bytes that start one.
fn count_chars(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count() as u32
}

/// A cheap fingerprint of a file's bytes, to notice a file that changed during the audit.
fn digest(bytes: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write(bytes);
    h.finish()
}

fn role_of(rel: &str) -> FileRole {
    let mut parts = rel.split('/').peekable();
    let mut dirs = Vec::new();
    let mut file = "";
    while let Some(p) = parts.next() {
        if parts.peek().is_some() {
            dirs.push(p);
        } else {
            file = p;
        }
    }
    // Before tests: a generator's template of a test file is scaffolding too.
    let is_scaffold_dir = |d: &&str| {
        matches!(
            *d,
            "templates" | "template" | "project_templates" | "project_template"
        ) || (d.contains("{{") && d.contains("}}"))
    };
    if dirs.iter().any(is_scaffold_dir) {
        return FileRole::Scaffold;
    }
    let is_test_dir = |d: &&str| matches!(*d, "tests" | "test" | "testing" | "__tests__");
    if dirs.iter().any(is_test_dir)
        || file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
        || file == "tests.py"
    {
        return FileRole::Test;
    }
    // Code that runs beside the service, not as it: command-line tools (an async CLI command
    // is not a server's event loop, and a CLI's local login callback server is not a
    // service), examples and docs snippets, benchmarks and load tests.
    let is_script_dir = |d: &&str| {
        matches!(
            *d,
            "scripts"
                | "script"
                | "bin"
                | "tools"
                | "migrations"
                | "alembic"
                | "cli"
                | "examples"
                | "example"
                | "docs_src"
                | "docs"
                | "benchmarks"
                | "benchmark"
                | "load_tests"
                | "loadtests"
                | "load_test"
                | "locust"
        )
    };
    // Django management commands (`<app>/management/commands/x.py`) are `manage.py x`.
    let management_command = dirs
        .windows(2)
        .any(|w| w[0] == "management" && w[1] == "commands");
    // `_migrations`, `db_migrations`: schema migrations by another name.
    let migrations = |d: &&str| d.ends_with("_migrations");
    if dirs.iter().any(is_script_dir)
        || dirs.iter().any(migrations)
        || management_command
        || matches!(
            file,
            "manage.py" | "noxfile.py" | "setup.py" | "fabfile.py" | "locustfile.py"
        )
    {
        return FileRole::Script;
    }
    FileRole::Service
}

/// What kind of file a path is, by name; None for files the audit does not read.
pub fn classify(file_name: &str) -> Option<FileKind> {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".py") {
        return Some(FileKind::Python);
    }
    if lower == "dockerfile"
        || lower == "containerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
    {
        return Some(FileKind::Dockerfile);
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        return Some(FileKind::Yaml);
    }
    if lower == "pyproject.toml"
        || lower == "setup.cfg"
        || lower == "pipfile"
        || (lower.starts_with("requirements") && lower.ends_with(".txt"))
        || (lower.ends_with(".in") && lower.starts_with("requirements"))
    {
        return Some(FileKind::Manifest);
    }
    if lower == "template.json" || lower.ends_with(".template.json") {
        return Some(FileKind::Json);
    }
    if lower.ends_with(".conf") && (lower.contains("nginx") || lower == "default.conf")
        || lower == "traefik.toml"
        || lower == "kong.conf"
    {
        return Some(FileKind::ProxyConfig);
    }
    None
}

/// Files larger than this are not read (`max-file-size` in configuration): the audit needs
/// many times a file's size in memory, and no hand-written source is this large.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 << 20;

/// A source file as read: its bytes, or its size when that is over the limit.
#[derive(Debug)]
pub enum Contents {
    Bytes(Vec<u8>),
    /// Not read: the file has at least this many bytes, more than the limit.
    TooLarge(u64),
}

/// The bytes of a file the walk found, if it is still a regular file.
///
/// The walk only lists regular files, but the tree can change before the read: a FIFO put
/// in a file's place would block a plain `open` until some writer appeared, so it is opened
/// without blocking and anything but a regular file is refused. A file that vanished is an
/// error like any other: the audit cannot say it was audited.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    match read_source(path, u64::MAX)? {
        Contents::Bytes(bytes) => Ok(bytes),
        Contents::TooLarge(_) => unreachable!("nothing is larger than u64::MAX bytes"),
    }
}

/// [`read_regular`], reading no more than `max` bytes: a larger file (or one that grows
/// past `max` while it is read) is [`Contents::TooLarge`].
pub fn read_source(path: &Path, max: u64) -> std::io::Result<Contents> {
    use std::io::Read;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other(if metadata.is_dir() {
            "it is a directory now"
        } else {
            "it is not a regular file any more"
        }));
    }
    if metadata.len() > max {
        return Ok(Contents::TooLarge(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // Through `Take`: `File::read_to_end` would ask the size again (fstat and lseek, two more
    // system calls per file) for the capacity already reserved here. One byte past the
    // limit tells a file that grew since the `fstat`.
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Ok(Contents::TooLarge(bytes.len() as u64));
    }
    Ok(Contents::Bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(role_of("tests/test_a.py"), FileRole::Test);
        assert_eq!(role_of("svc/app/test_x.py"), FileRole::Test);
        assert_eq!(role_of("conftest.py"), FileRole::Test);
        assert_eq!(role_of("scripts/seed.py"), FileRole::Script);
        assert_eq!(role_of("manage.py"), FileRole::Script);
        assert_eq!(
            role_of("server/database/_migrations/versions/0001_init.py"),
            FileRole::Script
        );
        assert_eq!(role_of("app/my_migrations_helper.py"), FileRole::Service);
        assert_eq!(
            role_of("khoj/database/management/commands/change_model.py"),
            FileRole::Script
        );
        assert_eq!(role_of("app/management/views.py"), FileRole::Service);
        assert_eq!(role_of("app/main.py"), FileRole::Service);
        assert_eq!(role_of("app/tasks.py"), FileRole::Service);
        assert_eq!(role_of("app/contest.py"), FileRole::Service);
        assert_eq!(
            role_of("feast/templates/ray/bootstrap.py"),
            FileRole::Scaffold
        );
        assert_eq!(
            role_of("{{cookiecutter.project_slug}}/app/main.py"),
            FileRole::Scaffold
        );
        assert_eq!(
            role_of("pkg/project_templates/base/tests/test_app.py"),
            FileRole::Scaffold
        );
        // A file named like the directory is not inside one.
        assert_eq!(role_of("app/templates.py"), FileRole::Service);
    }

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new(
            "x".into(),
            "x.py".into(),
            FileKind::Python,
            "a\néé = 1\n".into(),
        );
        let off = TextSize::from(f.text().find('=').unwrap() as u32);
        assert_eq!(f.line_col(off), LineCol { line: 2, column: 4 });
        assert_eq!(f.line_of(off), 2);
        assert_eq!(f.slice(f.line_range(2)), "éé = 1");
    }

    #[test]
    fn lines_end_at_cr_lf_and_lone_cr_and_a_bom_is_no_column() {
        let f = SourceFile::new(
            "x".into(),
            "x.py".into(),
            FileKind::Python,
            "a\r\nb\rc\nd = 1".into(),
        );
        let off = TextSize::from(f.text().find('d').unwrap() as u32);
        assert_eq!(f.line_col(off), LineCol { line: 4, column: 1 });
        let off = TextSize::from(f.text().find('c').unwrap() as u32);
        assert_eq!(f.line_of(off), 3);
        let f = SourceFile::new(
            "x".into(),
            "x.py".into(),
            FileKind::Python,
            "\u{feff}x = 1\n".into(),
        );
        let off = TextSize::from(f.text().find('=').unwrap() as u32);
        assert_eq!(f.line_col(off), LineCol { line: 1, column: 3 });
    }

    #[test]
    fn columns_far_into_a_long_line_count_characters() {
        let line = "é".repeat(3000) + "x = 1" + &"ü".repeat(500);
        let text = format!("a\n{line}\nb\n");
        let f = SourceFile::new("x".into(), "x.py".into(), FileKind::Python, text.clone());
        for (needle, column) in [("x", 3001), ("1", 3005), ("b", 1)] {
            let off = TextSize::from(text.find(needle).unwrap() as u32);
            let line = if needle == "b" { 3 } else { 2 };
            assert_eq!(f.line_col(off), LineCol { line, column }, "{needle}");
        }
        let end = TextSize::from((text.len() - 3) as u32);
        assert_eq!(f.line_col(end).column, 3506);
    }

    #[test]
    fn modules() {
        let f = SourceFile::new(
            "x".into(),
            "svc/app/__init__.py".into(),
            FileKind::Python,
            String::new(),
        );
        assert_eq!(f.python_module(), ("svc.app".into(), true));
        let f = SourceFile::new(
            "x".into(),
            "main.py".into(),
            FileKind::Python,
            String::new(),
        );
        assert_eq!(f.python_module(), ("main".into(), false));
    }
}
