//! Source files as the audit sees them: path, text, line index, and what kind of file.

use std::path::{Path, PathBuf};

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
    /// One-off scripts and tooling: `scripts/`, `bin/`, `tools/`, `manage.py`, migrations.
    Script,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Path relative to the audited root, with `/` separators.
    pub rel: String,
    pub kind: FileKind,
    pub role: FileRole,
    pub text: String,
    line_starts: Vec<TextSize>,
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
        let mut line_starts = vec![TextSize::from(0)];
        line_starts.extend(
            memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| TextSize::from(i as u32 + 1)),
        );
        SourceFile {
            path,
            rel,
            kind,
            role,
            text,
            line_starts,
        }
    }

    pub fn line_col(&self, offset: TextSize) -> LineCol {
        let offset = offset.min(TextSize::of(&*self.text));
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let column = self.text[usize::from(start)..usize::from(offset)]
            .chars()
            .count() as u32
            + 1;
        LineCol {
            line: line as u32 + 1,
            column,
        }
    }

    /// 1-based line number of an offset.
    pub fn line_of(&self, offset: TextSize) -> u32 {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i as u32 + 1,
            Err(i) => i as u32,
        }
    }

    /// The range of a whole 1-based line, without its newline.
    pub fn line_range(&self, line: u32) -> TextRange {
        let i = (line.max(1) - 1) as usize;
        let start = self.line_starts.get(i).copied().unwrap_or_default();
        let end = self
            .line_starts
            .get(i + 1)
            .map(|e| *e - TextSize::from(1))
            .unwrap_or(TextSize::of(&*self.text));
        TextRange::new(start, end.max(start))
    }

    /// Drop the text of a file nothing will be reported in (its line index stays).
    pub fn release_text(&mut self) {
        self.text = String::new();
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
    let is_script_dir = |d: &&str| {
        matches!(
            *d,
            "scripts" | "script" | "bin" | "tools" | "migrations" | "alembic"
        )
    };
    if dirs.iter().any(is_script_dir)
        || matches!(file, "manage.py" | "noxfile.py" | "setup.py" | "fabfile.py")
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
    let mut file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other(if metadata.is_dir() {
            "it is a directory now"
        } else {
            "it is not a regular file any more"
        }));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
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
        let off = TextSize::from(f.text.find('=').unwrap() as u32);
        assert_eq!(f.line_col(off), LineCol { line: 2, column: 4 });
        assert_eq!(f.line_of(off), 2);
        assert_eq!(&f.text[f.line_range(2)], "éé = 1");
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
