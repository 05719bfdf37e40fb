//! The service name: a DNS label, and the Python package derived from it.
//!
//! The name becomes a directory, a Kubernetes object name and a Docker image name, so it has
//! to be valid as all of them at once. In templates that use the `package` built-in it is also
//! (with '-' turned into '_') a Python package, which must not be a keyword nor shadow a module
//! the service imports: [`check_package`] refuses those. The embedded variants keep their code
//! in `app/`, so `svc new test` or `svc new email` is fine with them.

use miette::Diagnostic;
use thiserror::Error;

/// Longest DNS label (RFC 1123); Kubernetes enforces it for service names.
const MAX_LEN: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    /// The DNS label: `my-service`.
    pub slug: String,
    /// The Python package: `my_service`.
    pub package: String,
    /// What was typed, when it differs from the slug (`My Service`): worth a note.
    pub slugged_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum NameError {
    #[error("the service name is empty")]
    #[diagnostic(code(svc::new::name), help("give a name such as `orders-api`"))]
    Empty,
    #[error("the service name {name:?} has no letters or digits")]
    #[diagnostic(code(svc::new::name), help("give a name such as `orders-api`"))]
    NoLetters { name: String },
    #[error(
        "the service name {name:?} looks like a path; '/', '\\' and '..' are not allowed in a name"
    )]
    #[diagnostic(
        code(svc::new::name),
        help("give a plain name and choose where the service goes with --output DIR")
    )]
    Path { name: String },
    #[error("the service name {name:?} contains {character:?}, which a DNS label cannot hold")]
    #[diagnostic(
        code(svc::new::name),
        help("use lowercase letters a-z, digits and '-' (spaces, '_' and '.' become '-')")
    )]
    Character { name: String, character: char },
    #[error("the service name {slug:?} must start with a letter")]
    #[diagnostic(
        code(svc::new::name),
        help("a DNS label and a Python package both start with a letter")
    )]
    LeadingNonLetter { slug: String },
    #[error("the service name {slug:?} is {len} characters long; a DNS label has at most 63")]
    #[diagnostic(code(svc::new::name))]
    TooLong { slug: String, len: usize },
    #[error("the service name {slug:?} is reserved: {reason}")]
    #[diagnostic(
        code(svc::new::name),
        help("choose a more specific name, such as `{slug}-service`")
    )]
    Reserved { slug: String, reason: &'static str },
}

/// Validates a service name and slugs it to a DNS label. Anything that could escape the
/// output directory is refused outright rather than slugged.
pub fn parse(raw: &str) -> Result<ServiceName, NameError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.contains(['/', '\\']) || trimmed.contains("..") || trimmed == "." {
        return Err(NameError::Path {
            name: raw.to_owned(),
        });
    }

    let mut slug = String::with_capacity(trimmed.len());
    for character in trimmed.chars() {
        let mapped = match character {
            'a'..='z' | '0'..='9' => character,
            'A'..='Z' => character.to_ascii_lowercase(),
            '-' | '_' | '.' => '-',
            c if c.is_whitespace() => '-',
            _ => {
                return Err(NameError::Character {
                    name: raw.to_owned(),
                    character,
                });
            }
        };
        if !(mapped == '-' && (slug.is_empty() || slug.ends_with('-'))) {
            slug.push(mapped);
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }

    if slug.is_empty() {
        return Err(NameError::NoLetters {
            name: raw.to_owned(),
        });
    }
    if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(NameError::LeadingNonLetter { slug });
    }
    if slug.len() > MAX_LEN {
        let len = slug.len();
        return Err(NameError::TooLong { slug, len });
    }

    let package = slug.replace('-', "_");
    if let Some(reason) = reserved(&slug, &package) {
        return Err(NameError::Reserved { slug, reason });
    }

    let slugged_from = (slug != raw).then(|| raw.to_owned());
    Ok(ServiceName {
        slug,
        package,
        slugged_from,
    })
}

fn reserved(slug: &str, package: &str) -> Option<&'static str> {
    if GENERIC.contains(&package) {
        Some("it is too generic: tools and templates use it for their own directories")
    } else if is_windows_device(slug) {
        Some("it is a device name on Windows, where the directory could not be created")
    } else {
        None
    }
}

/// For a template that makes a Python package of the name (it uses `{{ package }}`): refuses a
/// package that could not be imported, or would shadow a module the service imports.
pub fn check_package(name: &ServiceName) -> Result<(), NameError> {
    let package = name.package.as_str();
    let reason = if PYTHON_KEYWORDS.contains(&package) {
        "it is a Python keyword, so the package could not be imported"
    } else if PYTHON_STDLIB.contains(&package) {
        "the package would shadow a module of the Python standard library"
    } else if DEPENDENCIES.contains(&package) {
        "the package would shadow a library that generated services use"
    } else {
        return Ok(());
    };
    Err(NameError::Reserved {
        slug: name.slug.clone(),
        reason,
    })
}

/// CON, PRN, AUX, NUL, COM0-9 and LPT0-9 cannot name a file or directory on Windows.
fn is_windows_device(slug: &str) -> bool {
    matches!(slug, "con" | "prn" | "aux" | "nul")
        || ((slug.starts_with("com") || slug.starts_with("lpt"))
            && slug.len() == 4
            && slug.as_bytes()[3].is_ascii_digit())
}

/// `keyword.kwlist`, lowercase ones only: a package name is lowercase.
#[rustfmt::skip]
const PYTHON_KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// `sys.stdlib_module_names` (public, lowercase) of Python 3.11, plus `test` and the modules
/// added up to 3.14. Modules removed in 3.13 stay: services still run on 3.11.
#[rustfmt::skip]
const PYTHON_STDLIB: &[&str] = &[
    "abc", "aifc", "annotationlib", "antigravity", "argparse", "array", "ast", "asynchat",
    "asyncio", "asyncore", "atexit", "audioop", "base64", "bdb", "binascii", "bisect", "builtins",
    "bz2", "calendar", "cgi", "cgitb", "chunk", "cmath", "cmd", "code", "codecs", "codeop",
    "collections", "colorsys", "compileall", "compression", "concurrent", "configparser",
    "contextlib", "contextvars", "copy", "copyreg", "crypt", "csv", "ctypes", "curses",
    "dataclasses", "datetime", "dbm", "decimal", "difflib", "dis", "distutils", "doctest", "email",
    "encodings", "ensurepip", "enum", "errno", "faulthandler", "fcntl", "filecmp", "fileinput",
    "fnmatch", "fractions", "ftplib", "functools", "gc", "genericpath", "getopt", "getpass",
    "gettext", "glob", "graphlib", "grp", "gzip", "hashlib", "heapq", "hmac", "html", "http",
    "idlelib", "imaplib", "imghdr", "imp", "importlib", "inspect", "io", "ipaddress", "itertools",
    "json", "keyword", "lib2to3", "linecache", "locale", "logging", "lzma", "mailbox", "mailcap",
    "marshal", "math", "mimetypes", "mmap", "modulefinder", "msilib", "msvcrt", "multiprocessing",
    "netrc", "nis", "nntplib", "nt", "ntpath", "nturl2path", "numbers", "opcode", "operator",
    "optparse", "os", "ossaudiodev", "pathlib", "pdb", "pickle", "pickletools", "pipes", "pkgutil",
    "platform", "plistlib", "poplib", "posix", "posixpath", "pprint", "profile", "pstats", "pty",
    "pwd", "py_compile", "pyclbr", "pydoc", "pydoc_data", "pyexpat", "queue", "quopri", "random",
    "re", "readline", "reprlib", "resource", "rlcompleter", "runpy", "sched", "secrets", "select",
    "selectors", "shelve", "shlex", "shutil", "signal", "site", "smtpd", "smtplib", "sndhdr",
    "socket", "socketserver", "spwd", "sqlite3", "sre_compile", "sre_constants", "sre_parse", "ssl",
    "stat", "statistics", "string", "stringprep", "struct", "subprocess", "sunau", "symtable",
    "sys", "sysconfig", "syslog", "tabnanny", "tarfile", "telnetlib", "tempfile", "termios", "test",
    "textwrap", "this", "threading", "time", "timeit", "tkinter", "token", "tokenize", "tomllib",
    "trace", "traceback", "tracemalloc", "tty", "turtle", "turtledemo", "types", "typing",
    "unicodedata", "unittest", "urllib", "uu", "uuid", "venv", "warnings", "wave", "weakref",
    "webbrowser", "winreg", "winsound", "wsgiref", "xdrlib", "xml", "xmlrpc", "zipapp", "zipfile",
    "zipimport", "zlib", "zoneinfo",
];

/// What generated services import or install, by import name.
#[rustfmt::skip]
const DEPENDENCIES: &[&str] = &[
    "anyio", "asgi_correlation_id", "celery", "fakeredis", "fastapi", "gunicorn", "hiredis",
    "httpx", "httpx2", "jwt", "kombu", "limits", "mangum", "opentelemetry", "pip",
    "prometheus_client", "prometheus_fastapi_instrumentator", "purgatory", "pydantic",
    "pydantic_settings", "pytest", "redis", "requests", "setuptools", "stamina", "starlette",
    "structlog", "taskiq", "uvicorn", "uvicorn_worker", "wheel",
];

/// Names that are directories or entry points in a generated service, or mean nothing.
#[rustfmt::skip]
const GENERIC: &[&str] = &[
    "api", "app", "conftest", "docs", "lib", "main", "python", "scripts", "service", "setup", "src",
    "svc", "tests",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> ServiceName {
        parse(raw).unwrap_or_else(|err| panic!("{raw:?} should be accepted: {err}"))
    }

    #[test]
    fn plain_names_pass_unchanged() {
        let name = ok("orders-api");
        assert_eq!(name.slug, "orders-api");
        assert_eq!(name.package, "orders_api");
        assert_eq!(name.slugged_from, None);
        assert_eq!(ok("a1").package, "a1");
    }

    #[test]
    fn loose_names_are_slugged_with_a_note() {
        let name = ok("My Service");
        assert_eq!(name.slug, "my-service");
        assert_eq!(name.package, "my_service");
        assert_eq!(name.slugged_from.as_deref(), Some("My Service"));
        assert_eq!(ok("  Billing__Worker. ").slug, "billing-worker");
        assert_eq!(ok("-edge-").slug, "edge");
    }

    #[test]
    fn paths_are_refused_not_slugged() {
        for raw in ["..", "../evil", "a/b", "a\\b", "/etc", "a..b", "."] {
            assert_eq!(
                parse(raw),
                Err(NameError::Path { name: raw.into() }),
                "{raw}"
            );
        }
    }

    #[test]
    fn empty_and_punctuation_only_names_are_refused() {
        assert_eq!(parse(""), Err(NameError::Empty));
        assert_eq!(parse("   "), Err(NameError::Empty));
        assert_eq!(
            parse("-_-"),
            Err(NameError::NoLetters { name: "-_-".into() })
        );
    }

    #[test]
    fn characters_outside_a_dns_label_are_refused() {
        assert_eq!(
            parse("café"),
            Err(NameError::Character {
                name: "café".into(),
                character: 'é'
            })
        );
        assert!(matches!(
            parse("a:b"),
            Err(NameError::Character { character: ':', .. })
        ));
        assert!(matches!(
            parse("a\0b"),
            Err(NameError::Character {
                character: '\0',
                ..
            })
        ));
    }

    #[test]
    fn label_shape_is_enforced() {
        assert_eq!(
            parse("1api"),
            Err(NameError::LeadingNonLetter {
                slug: "1api".into()
            })
        );
        let long = "a".repeat(64);
        assert_eq!(
            parse(&long),
            Err(NameError::TooLong {
                slug: long,
                len: 64
            })
        );
        assert!(parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn reserved_names_are_refused() {
        for raw in ["app", "python", "tests", "con", "LPT1", "nul"] {
            assert!(
                matches!(parse(raw), Err(NameError::Reserved { .. })),
                "{raw} should be reserved"
            );
        }
        // Only the exact name is reserved, not names that contain it.
        assert!(parse("console").is_ok());
        assert!(parse("com10").is_ok());
    }

    #[test]
    fn package_names_are_checked_only_when_asked() {
        for raw in [
            "test",
            "site",
            "fastapi",
            "redis",
            "celery",
            "Class",
            "typing",
            "email",
            "pydantic-settings",
        ] {
            let name = ok(raw);
            assert!(
                matches!(check_package(&name), Err(NameError::Reserved { .. })),
                "{raw} should be reserved as a package"
            );
        }
        assert!(check_package(&ok("redis-cache")).is_ok());
        assert!(check_package(&ok("orders-api")).is_ok());
    }

    #[test]
    fn reserved_lists_are_sorted_and_lowercase() {
        for list in [PYTHON_KEYWORDS, PYTHON_STDLIB, DEPENDENCIES, GENERIC] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "{list:?}");
            assert!(list.iter().all(|n| parse_identifier_like(n)), "{list:?}");
        }
    }

    fn parse_identifier_like(name: &str) -> bool {
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }
}
