//! Where templates come from: embedded in the binary, or a directory given with `--template`.
//!
//! Both look the same afterwards: a manifest and a list of files, with `_common/` merged in
//! when the manifest asks for it. A directory template finds its `_common/` next to it, the
//! way the embedded ones do under `templates/`.

use std::borrow::Cow;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::manifest::{self, Manifest, ManifestError};
use super::skip::{is_executable, is_skipped};

pub const MANIFEST_FILE: &str = "template.toml";
pub const COMMON_DIR: &str = "_common";
/// The variant used when none is chosen and nobody can be asked.
pub const DEFAULT_VARIANT: &str = "container";

struct EmbeddedFile {
    /// Relative to `templates/`, '/'-separated: `container/Dockerfile`.
    path: &'static str,
    contents: &'static [u8],
    executable: bool,
}

static EMBEDDED: &[EmbeddedFile] = include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFile {
    /// Relative to the template root, '/'-separated, as written (names not yet rendered).
    pub path: String,
    pub contents: Cow<'static, [u8]>,
    pub executable: bool,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub manifest: Manifest,
    /// Sorted by path; the manifest itself is not among them.
    pub files: Vec<TemplateFile>,
}

#[derive(Debug, Error, Diagnostic)]
pub enum SourceError {
    #[error("unknown template variant {variant:?}; available: {available}")]
    #[diagnostic(
        code(svc::new::usage),
        help("svc new --list shows each variant with its options")
    )]
    UnknownVariant { variant: String, available: String },
    #[error("this build of svc has no embedded templates")]
    #[diagnostic(
        code(svc::new::usage),
        help("use --template DIR to render a template directory")
    )]
    NoVariants,
    #[error("choose a template with --variant; available: {available}")]
    #[diagnostic(code(svc::new::usage))]
    NoDefaultVariant { available: String },
    #[error("{} is not a template directory: it has no {MANIFEST_FILE}", .dir.display())]
    #[diagnostic(code(svc::new::usage), help("{help}"))]
    NotATemplate { dir: PathBuf, help: String },
    #[error(
        "the {template} template sets `common = true`, but there is no {COMMON_DIR} directory {place}"
    )]
    #[diagnostic(code(svc::new::template))]
    NoCommon { template: String, place: String },
    #[error("{} is a symbolic link or a special file; templates hold regular files and directories only", .path.display())]
    #[diagnostic(code(svc::new::template))]
    NotAFile { path: PathBuf },
    #[error("{} has a name that is not valid UTF-8", .path.display())]
    #[diagnostic(code(svc::new::template))]
    NotUtf8 { path: PathBuf },
    #[error("cannot read {}", .path.display())]
    #[diagnostic(code(svc::new::io))]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the frozen template release {path} is damaged: {why}")]
    #[diagnostic(
        code(svc::new::template),
        help("regenerate it with scripts/freeze_template.py at the commit of that release")
    )]
    BrokenRelease { path: String, why: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Manifest(#[from] ManifestError),
}

/// The variants `--list` shows and prompts offer: embedded directories with a manifest,
/// except those starting with `_` (shared pieces and test fixtures).
pub fn visible_variants() -> Vec<&'static str> {
    embedded_variants()
        .into_iter()
        .filter(|v| !v.starts_with('_'))
        .collect()
}

fn embedded_variants() -> Vec<&'static str> {
    let mut variants: Vec<&str> = EMBEDDED
        .iter()
        .filter_map(|f| f.path.strip_suffix(MANIFEST_FILE)?.strip_suffix('/'))
        .filter(|dir| !dir.contains('/'))
        .collect();
    variants.sort_unstable();
    variants
}

/// The variant to use when none was given: [`DEFAULT_VARIANT`], or the only one there is.
pub fn default_variant(variants: &[&str]) -> Result<usize, SourceError> {
    match variants {
        [] => Err(SourceError::NoVariants),
        [_] => Ok(0),
        _ => variants
            .iter()
            .position(|v| *v == DEFAULT_VARIANT)
            .ok_or_else(|| SourceError::NoDefaultVariant {
                available: variants.join(", "),
            }),
    }
}

/// Loads an embedded variant. Hidden ones (`_test`) load too when named exactly.
pub fn embedded(variant: &str) -> Result<Template, SourceError> {
    if !embedded_variants().contains(&variant) {
        let visible = visible_variants();
        return Err(SourceError::UnknownVariant {
            variant: variant.to_owned(),
            available: if visible.is_empty() {
                "none".to_owned()
            } else {
                visible.join(", ")
            },
        });
    }
    let prefix = format!("{variant}/");
    let manifest_path = format!("{prefix}{MANIFEST_FILE}");
    let mut manifest_text = "";
    let mut files = Vec::new();
    for file in EMBEDDED {
        let Some(relative) = file.path.strip_prefix(&prefix) else {
            continue;
        };
        if file.path == manifest_path {
            manifest_text =
                std::str::from_utf8(file.contents).map_err(|_| SourceError::NotUtf8 {
                    path: PathBuf::from(file.path),
                })?;
        } else {
            files.push(TemplateFile {
                path: relative.to_owned(),
                contents: Cow::Borrowed(file.contents),
                executable: file.executable,
            });
        }
    }
    let manifest = manifest::parse(
        &format!("templates/{manifest_path} (embedded)"),
        manifest_text,
    )?;
    if manifest.common {
        let common_prefix = format!("{COMMON_DIR}/");
        let common: Vec<TemplateFile> = EMBEDDED
            .iter()
            .filter_map(|file| {
                let relative = file.path.strip_prefix(&common_prefix)?;
                Some(TemplateFile {
                    path: relative.to_owned(),
                    contents: Cow::Borrowed(file.contents),
                    executable: file.executable,
                })
            })
            .collect();
        if common.is_empty() {
            return Err(SourceError::NoCommon {
                template: manifest.name,
                place: "among the embedded templates".to_owned(),
            });
        }
        merge_common(&mut files, common);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Template { manifest, files })
}

/// Where frozen releases of the embedded variants live, relative to `templates/`: one JSON
/// file per version, written by `scripts/freeze_template.py`.
pub const RELEASES_DIR: &str = "_releases";

/// One released version of an embedded variant, as `scripts/freeze_template.py` froze it: the
/// manifest and every file with `_common/` already merged in.
#[derive(serde::Deserialize)]
struct Frozen {
    format: u32,
    version: String,
    manifest: String,
    files: Vec<FrozenFile>,
}

#[derive(serde::Deserialize)]
struct FrozenFile {
    path: String,
    executable: bool,
    text: String,
}

/// The versions of `variant` frozen in this binary, oldest first (numeric versions compare
/// as numbers).
pub fn released_versions(variant: &str) -> Vec<String> {
    let prefix = format!("{RELEASES_DIR}/{variant}/");
    let mut versions: Vec<String> = EMBEDDED
        .iter()
        .filter_map(|f| f.path.strip_prefix(&prefix)?.strip_suffix(".json"))
        .filter(|v| !v.contains('/'))
        .map(str::to_owned)
        .collect();
    versions.sort_by(|a, b| compare_versions(a, b));
    versions
}

/// Orders template versions: numbers as numbers (`2` before `10`), else as text.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// An embedded variant at `version`: the live template when that is its version, else the
/// frozen release; `None` when this binary holds neither.
pub fn embedded_at(variant: &str, version: &str) -> Result<Option<Template>, SourceError> {
    let live = embedded(variant)?;
    if live.manifest.version == version {
        return Ok(Some(live));
    }
    let path = format!("{RELEASES_DIR}/{variant}/{version}.json");
    let Some(file) = EMBEDDED.iter().find(|f| f.path == path) else {
        return Ok(None);
    };
    let broken = |why: String| SourceError::BrokenRelease {
        path: format!("templates/{path}"),
        why,
    };
    let frozen: Frozen =
        serde_json::from_slice(file.contents).map_err(|err| broken(err.to_string()))?;
    if frozen.format != 1 || frozen.version != version {
        return Err(broken(format!(
            "format {} of version {}, expected format 1 of version {version}",
            frozen.format, frozen.version
        )));
    }
    let manifest = manifest::parse(&format!("templates/{path} (embedded)"), &frozen.manifest)?;
    let mut files: Vec<TemplateFile> = frozen
        .files
        .into_iter()
        .map(|f| TemplateFile {
            path: f.path,
            contents: Cow::Owned(f.text.into_bytes()),
            executable: f.executable,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Some(Template { manifest, files }))
}

/// Loads a template directory given with `--template`.
///
/// The directory itself may be reached through a symbolic link (the user named it), but
/// nothing it brings in may be one: not its manifest, not `_common/`, not a file inside. A
/// link would let a template copy files from anywhere on the user's machine (`~/.ssh`) into
/// the generated project, or echo them in a manifest parse error.
pub fn directory(dir: &Path) -> Result<Template, SourceError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    match fs::symlink_metadata(&manifest_path) {
        // A directory in its place fails to read below, with the system's words.
        Ok(metadata) if metadata.is_file() || metadata.is_dir() => {}
        Ok(_) => {
            return Err(SourceError::NotAFile {
                path: manifest_path,
            });
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(SourceError::NotATemplate {
                dir: dir.to_owned(),
                help: not_a_template_help(dir),
            });
        }
        Err(source) => {
            return Err(SourceError::Read {
                path: manifest_path,
                source,
            });
        }
    }
    let manifest_text = fs::read_to_string(&manifest_path).map_err(|source| SourceError::Read {
        path: manifest_path.clone(),
        source,
    })?;
    let manifest = manifest::parse(&manifest_path.display().to_string(), &manifest_text)?;

    let mut files = Vec::new();
    read_tree(dir, dir, &mut files)?;
    files.retain(|f| f.path != MANIFEST_FILE);

    if manifest.common {
        // `templates/container` -> `templates/_common`; `.` -> `../_common`.
        let common_dir = dir.join("..").join(COMMON_DIR);
        match fs::symlink_metadata(&common_dir) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(metadata) if !metadata.is_file() => {
                return Err(SourceError::NotAFile { path: common_dir });
            }
            _ => {
                return Err(SourceError::NoCommon {
                    template: manifest.name,
                    place: format!("at {}", common_dir.display()),
                });
            }
        }
        let mut common = Vec::new();
        read_tree(&common_dir, &common_dir, &mut common)?;
        merge_common(&mut files, common);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Template { manifest, files })
}

fn not_a_template_help(dir: &Path) -> String {
    let mut children: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join(MANIFEST_FILE).is_file())
        .map(|entry| entry.path().display().to_string())
        .collect();
    children.sort();
    if children.is_empty() {
        format!("a template directory holds a {MANIFEST_FILE} manifest next to its files")
    } else {
        format!("templates found inside it: {}", children.join(", "))
    }
}

/// Whether a '/'-separated template path has a segment svc never reads (`__pycache__`, ...).
pub fn is_skipped_path(path: &str) -> bool {
    path.split('/').any(is_skipped)
}

/// `_common/` files join the template unless it has a file at the same path: the template wins.
pub(crate) fn merge_common(files: &mut Vec<TemplateFile>, common: Vec<TemplateFile>) {
    for file in common {
        if file.path != MANIFEST_FILE && !files.iter().any(|f| f.path == file.path) {
            files.push(file);
        }
    }
}

fn read_tree(root: &Path, dir: &Path, files: &mut Vec<TemplateFile>) -> Result<(), SourceError> {
    let read_error = |source| SourceError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(SourceError::NotUtf8 { path });
        };
        if is_skipped(&name) {
            continue;
        }
        let file_type = entry.file_type().map_err(|source| SourceError::Read {
            path: path.clone(),
            source,
        })?;
        if file_type.is_dir() {
            read_tree(root, &path, files)?;
        } else if file_type.is_file() {
            let contents = fs::read(&path).map_err(|source| SourceError::Read {
                path: path.clone(),
                source,
            })?;
            let relative = path
                .strip_prefix(root)
                .expect("walked from root")
                .components()
                .map(|c| c.as_os_str().to_str().expect("every component was checked"))
                .collect::<Vec<_>>()
                .join("/");
            files.push(TemplateFile {
                path: relative,
                contents: Cow::Owned(contents),
                executable: is_executable(&entry),
            });
        } else {
            return Err(SourceError::NotAFile { path });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_variant_loads_and_is_named_after_its_directory() {
        for variant in embedded_variants() {
            let template = embedded(variant).unwrap_or_else(|err| panic!("{variant}: {err:?}"));
            assert_eq!(
                template.manifest.name, variant,
                "template.name must match the directory"
            );
            assert!(!template.files.is_empty(), "{variant} has no files");
        }
    }

    #[test]
    fn underscore_directories_are_hidden_but_loadable() {
        assert!(embedded_variants().contains(&"_test"));
        assert!(!visible_variants().iter().any(|v| v.starts_with('_')));
        assert!(embedded("_test").is_ok());
        assert!(matches!(
            embedded("_common"),
            Err(SourceError::UnknownVariant { .. })
        ));
    }

    #[test]
    fn embedded_fixture_keeps_its_executable_bit() {
        let template = embedded("_test").unwrap();
        let script = template
            .files
            .iter()
            .find(|f| f.path == "scripts/check.sh")
            .unwrap();
        assert!(script.executable);
        let readme = template
            .files
            .iter()
            .find(|f| f.path == "README.md.tera")
            .unwrap();
        assert!(!readme.executable);
    }

    #[test]
    fn default_variant_prefers_container_or_the_only_one() {
        assert!(matches!(default_variant(&[]), Err(SourceError::NoVariants)));
        assert_eq!(default_variant(&["lambda"]).unwrap(), 0);
        assert_eq!(default_variant(&["container", "lambda"]).unwrap(), 0);
        assert_eq!(default_variant(&["a", "container", "lambda"]).unwrap(), 1);
        assert!(matches!(
            default_variant(&["a", "b"]),
            Err(SourceError::NoDefaultVariant { .. })
        ));
    }

    #[test]
    fn directory_template_merges_common_and_its_own_files_win() {
        let root = tempfile::tempdir().unwrap();
        let variant = root.path().join("v");
        let common = root.path().join(COMMON_DIR);
        fs::create_dir_all(variant.join("sub")).unwrap();
        fs::create_dir_all(common.join("sub")).unwrap();
        fs::create_dir_all(variant.join("__pycache__")).unwrap();
        fs::write(
            variant.join(MANIFEST_FILE),
            "[template]\nname = \"v\"\nversion = \"1\"\ncommon = true\n",
        )
        .unwrap();
        fs::write(variant.join("sub/own.txt"), "variant").unwrap();
        fs::write(variant.join("shared.txt"), "variant wins").unwrap();
        fs::write(variant.join("__pycache__/x.pyc"), "junk").unwrap();
        fs::write(common.join("shared.txt"), "common").unwrap();
        fs::write(common.join("sub/common.txt"), "common").unwrap();

        let template = directory(&variant).unwrap();
        let paths: Vec<&str> = template.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["shared.txt", "sub/common.txt", "sub/own.txt"]);
        assert_eq!(&*template.files[0].contents, b"variant wins");
    }

    #[test]
    fn directory_without_manifest_points_at_templates_inside() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("inner")).unwrap();
        fs::write(root.path().join("inner").join(MANIFEST_FILE), "").unwrap();
        let err = directory(root.path()).unwrap_err();
        let SourceError::NotATemplate { help, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(help.contains("inner"), "{help}");
    }

    #[test]
    fn common_without_a_common_directory_is_an_error() {
        let root = tempfile::tempdir().unwrap();
        let variant = root.path().join("v");
        fs::create_dir_all(&variant).unwrap();
        fs::write(
            variant.join(MANIFEST_FILE),
            "[template]\nname = \"v\"\nversion = \"1\"\ncommon = true\n",
        )
        .unwrap();
        assert!(matches!(
            directory(&variant),
            Err(SourceError::NoCommon { .. })
        ));
    }
}
