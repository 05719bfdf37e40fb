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
}

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
        }
    }

    /// The file's text. After [`SourceFile::release_text`] it is read again from disk on
    /// first use (to report a finding); if the file changed since the audit read it, the
    /// text is empty rather than wrong, and spans into it are clamped where they are used.
    pub fn text(&self) -> &str {
        self.text.get_or_init(|| {
            read_regular(&self.path)
                .ok()
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
            Some(s) => s.chars().count() as u32,
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
    if dirs.iter().any(is_script_dir)
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

/// The bytes of a file the walk found, if it is still a regular file.
///
/// The walk only lists regular files, but the tree can change before the read: a FIFO put
/// in a file's place would block a plain `open` until some writer appeared, so it is opened
/// without blocking and anything but a regular file is refused. A file that vanished is an
/// error like any other: the audit cannot say it was audited.
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
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
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // Through `Take`: `File::read_to_end` would ask the size again (fstat and lseek, two more
    // system calls per file) for the capacity already reserved here.
    file.take(u64::MAX).read_to_end(&mut bytes)?;
    Ok(bytes)
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
        assert_eq!(role_of("app/main.py"), FileRole::Service);
        assert_eq!(role_of("app/tasks.py"), FileRole::Service);
        assert_eq!(role_of("app/contest.py"), FileRole::Service);
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
