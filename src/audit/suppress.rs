//! `# svc: ignore[rule, ...] reason` comments.
//!
//! On the offending line or the line before it, or on any line of a multi-line statement that
//! contains the finding; `# svc: ignore-file[rule] reason` anywhere in a file covers the
//! whole file. Without brackets every rule is ignored; empty brackets (`ignore[]`) ignore none
//! and are reported. A suppression that suppresses nothing is itself reported
//! (`unused-suppression`), unless the rules it names are not running; one that names an
//! unknown rule is reported whether or not the rules beside it suppress something.

use ruff_text_size::{TextRange, TextSize};
use rustc_hash::FxHashMap as HashMap;

use crate::audit::model::{self, Project, code::SuppressionComment};
use crate::audit::rules::{self, Finding, Rule};
use crate::audit::source::FileId;

/// Parse a comment token; None if it is not an svc suppression.
pub fn parse_suppression(comment: &str, range: TextRange) -> Option<SuppressionComment> {
    let body = comment.trim_start_matches('#').trim_start();
    let rest = body.strip_prefix("svc:")?.trim_start();
    let (file_level, rest) = if let Some(r) = rest.strip_prefix("ignore-file") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix("ignore") {
        (false, r)
    } else {
        return None;
    };
    let (rules, empty_list) = match rest.strip_prefix('[') {
        Some(r) => {
            let (list, _) = r.split_once(']')?;
            let rules: Vec<Box<str>> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Into::into)
                .collect();
            let empty = rules.is_empty();
            (rules, empty)
        }
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => (Vec::new(), false),
        None => return None,
    };
    Some(SuppressionComment {
        rules,
        empty_list,
        file_level,
        range,
    })
}

/// A finding as suppressions see it: its rule, where it starts, and the lines a comment that
/// covers it may sit on (its statement's, and the line before).
#[derive(Debug, Clone, Copy)]
pub struct Covered {
    pub rule: &'static Rule,
    pub start: TextSize,
    /// First and last line (1-based) a suppression comment may sit on.
    pub lines: (u32, u32),
}

/// The multi-line statements of a file, to find the innermost one a finding starts in
/// without looking at each.
pub struct Statements<'a> {
    all: &'a [TextRange],
    /// By start, outer before inner, and each one's innermost enclosing statement; None when
    /// the ranges do not nest (or one is empty): then every range is looked at.
    nested: Option<(Vec<TextRange>, Vec<Option<usize>>)>,
}

impl<'a> Statements<'a> {
    pub fn new(all: &'a [TextRange]) -> Statements<'a> {
        let mut sorted = all.to_vec();
        sorted.sort_by_key(|r| (r.start(), std::cmp::Reverse(r.end())));
        let mut parent = Vec::with_capacity(sorted.len());
        let mut open: Vec<usize> = Vec::new();
        let mut nests = true;
        for (i, r) in sorted.iter().enumerate() {
            while open.last().is_some_and(|&o| sorted[o].end() <= r.start()) {
                open.pop();
            }
            if r.is_empty() || open.last().is_some_and(|&o| sorted[o].end() < r.end()) {
                nests = false;
                break;
            }
            parent.push(open.last().copied());
            open.push(i);
        }
        Statements {
            all,
            nested: nests.then_some((sorted, parent)),
        }
    }

    /// The shortest statement that contains `at` or starts there.
    pub fn innermost(&self, at: TextSize) -> Option<TextRange> {
        let Some((sorted, parent)) = &self.nested else {
            return self
                .all
                .iter()
                .filter(|r| r.contains(at) || r.start() == at)
                .min_by_key(|r| r.len())
                .copied();
        };
        // The innermost statement containing `at` encloses the last one starting at or
        // before it (ranges nest).
        let mut i = sorted.partition_point(|r| r.start() <= at).checked_sub(1);
        while let Some(j) = i {
            if sorted[j].contains(at) {
                return Some(sorted[j]);
            }
            i = parent[j];
        }
        None
    }
}

/// Which of a file's findings its suppressions cover, and which suppressions cover one: a
/// line comment covers a finding whose lines include its own line, a file-level one every
/// finding of the file, a Kubernetes annotation every finding in its `region`; each only of
/// the rules it names (all when it names none). Sorted lists and binary searches: linear in
/// findings plus suppressions but for the sorting, however many of either a file has.
///
/// `lines[i]` is the line of suppression `i`, `regions[i]` its region if it has one.
pub fn cover(
    suppressions: &[SuppressionComment],
    lines: &[u32],
    regions: &[Option<TextRange>],
    findings: &[Covered],
) -> (Vec<bool>, Vec<bool>) {
    // Group 0: suppressions naming no rule, and every finding. Then one group per rule the
    // findings have: the suppressions naming it, and its findings.
    let mut group_of: HashMap<*const Rule, usize> = HashMap::default();
    let mut rules: Vec<&'static Rule> = Vec::new();
    for f in findings {
        group_of.entry(f.rule as *const Rule).or_insert_with(|| {
            rules.push(f.rule);
            rules.len()
        });
    }
    let by_code: HashMap<String, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.code.to_ascii_lowercase(), i + 1))
        .collect();
    let by_name: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name, i + 1))
        .collect();
    let mut groups: Vec<Group> = (0..=rules.len()).map(|_| Group::default()).collect();
    let mut named: Vec<usize> = Vec::new();
    for (i, s) in suppressions.iter().enumerate() {
        named.clear();
        if s.rules.is_empty() && !s.empty_list {
            named.push(0);
        }
        for r in &s.rules {
            let code = by_code.get(r.to_ascii_lowercase().as_str());
            for g in code.into_iter().chain(by_name.get(&**r)) {
                if !named.contains(g) {
                    named.push(*g);
                }
            }
        }
        for &g in &named {
            let group = &mut groups[g];
            group.file_level |= s.file_level;
            group.comments.push((lines[i], i));
            if let Some(Some(region)) = regions.get(i) {
                group.regions.push((region.start(), region.end(), i));
            }
        }
    }
    for (j, f) in findings.iter().enumerate() {
        let g = group_of[&(f.rule as *const Rule)];
        for g in [0, g] {
            let group = &mut groups[g];
            group.findings.push((f.lines.0, f.lines.1, j));
            group.starts.push((f.start, j));
        }
    }
    let mut suppressed = vec![false; findings.len()];
    let mut used = vec![false; suppressions.len()];
    for group in &mut groups {
        group.cover(suppressions, &mut suppressed, &mut used);
    }
    (suppressed, used)
}

#[derive(Default)]
struct Group {
    /// A file-level suppression names the group.
    file_level: bool,
    /// (line, suppression) of every suppression.
    comments: Vec<(u32, usize)>,
    /// (start, end, suppression) of every annotation's region.
    regions: Vec<(TextSize, TextSize, usize)>,
    /// (first line, last line, finding).
    findings: Vec<(u32, u32, usize)>,
    /// (start, finding).
    starts: Vec<(TextSize, usize)>,
}

impl Group {
    fn cover(
        &mut self,
        suppressions: &[SuppressionComment],
        suppressed: &mut [bool],
        used: &mut [bool],
    ) {
        if self.comments.is_empty() || self.findings.is_empty() {
            return;
        }
        self.comments.sort_unstable();
        self.regions.sort_unstable();
        self.findings.sort_unstable();
        self.starts.sort_unstable();
        // The furthest a region (a finding's lines) reaches among those starting at or before
        // each: "does one of them reach this point" is one look-up.
        let region_reach = running_max(self.regions.iter().map(|r| r.1));
        let finding_reach = running_max(self.findings.iter().map(|f| f.1));

        for &(first, last, j) in &self.findings {
            let i = self.comments.partition_point(|c| c.0 < first);
            let on_lines = self.comments.get(i).is_some_and(|c| c.0 <= last);
            if self.file_level || on_lines {
                suppressed[j] = true;
            }
        }
        for &(start, j) in &self.starts {
            let i = self.regions.partition_point(|r| r.0 <= start);
            if i > 0 && region_reach[i - 1] > start {
                suppressed[j] = true;
            }
        }
        for &(line, i) in &self.comments {
            let k = self.findings.partition_point(|f| f.0 <= line);
            if suppressions[i].file_level || (k > 0 && finding_reach[k - 1] >= line) {
                used[i] = true;
            }
        }
        for &(start, end, i) in &self.regions {
            let k = self.starts.partition_point(|f| f.0 < start);
            if self.starts.get(k).is_some_and(|f| f.0 < end) {
                used[i] = true;
            }
        }
    }
}

fn running_max<T: Ord + Copy>(values: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for v in values {
        let max = out.last().map_or(v, |m| (*m).max(v));
        out.push(max);
    }
    out
}

/// Drop suppressed findings; report suppressions that suppressed nothing.
pub(crate) fn apply_suppressions(
    project: &Project,
    findings: Vec<Finding>,
    selected: &[&'static Rule],
) -> Vec<Finding> {
    let mut used: std::collections::HashMap<(FileId, usize), bool> =
        std::collections::HashMap::new();
    // Each file's findings against its suppressions at once.
    let mut by_file: std::collections::HashMap<FileId, Vec<usize>> =
        std::collections::HashMap::new();
    for (j, f) in findings.iter().enumerate() {
        by_file.entry(f.file).or_default().push(j);
    }
    let mut suppressed = vec![false; findings.len()];
    for (id, of_file) in by_file {
        let Some((suppressions, statement_ranges, regions)) = file_suppressions(project, id) else {
            continue;
        };
        if suppressions.is_empty() {
            continue;
        }
        let file = project.file(id);
        let statements = Statements::new(statement_ranges);
        let covered: Vec<Covered> = of_file
            .iter()
            .map(|&j| {
                let f = &findings[j];
                let line = file.line_of(f.range.start());
                // Lines a comment may sit on: the finding's statement, and the line before it.
                let (first, last) = match statements.innermost(f.range.start()) {
                    Some(r) => (file.line_of(r.start()), file.line_of(r.end())),
                    None => (line, line),
                };
                Covered {
                    rule: f.rule,
                    start: f.range.start(),
                    lines: (first.saturating_sub(1), last.max(line)),
                }
            })
            .collect();
        let lines: Vec<u32> = suppressions
            .iter()
            .map(|s| file.line_of(s.range.start()))
            .collect();
        let (covers, used_here) = cover(suppressions, &lines, regions, &covered);
        for (&j, hit) in of_file.iter().zip(covers) {
            suppressed[j] = hit;
        }
        for (i, u) in used_here.into_iter().enumerate() {
            if u {
                used.insert((id, i), true);
            }
        }
    }
    let mut kept: Vec<Finding> = findings
        .into_iter()
        .zip(suppressed)
        .filter_map(|(f, hit)| (!hit).then_some(f))
        .collect();
    let unused_rule = &rules::meta::unused_suppression::RULE;
    if selected.iter().any(|r| std::ptr::eq(*r, unused_rule)) {
        for id in 0..project.files.len() {
            let Some((suppressions, _, _)) = file_suppressions(project, id as FileId) else {
                continue;
            };
            for (i, s) in suppressions.iter().enumerate() {
                let unknown: Vec<&str> = s
                    .rules
                    .iter()
                    .filter(|r| rules::find(r).is_none())
                    .map(|r| &**r)
                    .collect();
                // A misspelt rule is worth saying even when the rules beside it do their job:
                // the author meant to silence something it does not.
                let message = if !unknown.is_empty() {
                    format!("suppression names unknown rule `{}`", unknown.join("`, `"))
                } else if s.empty_list {
                    "suppression names no rule between its brackets: it suppresses nothing"
                        .to_string()
                } else if used.contains_key(&(id as FileId, i)) {
                    continue;
                } else if s.rules.iter().all(|r| {
                    rules::find(r)
                        .is_some_and(|rule| selected.iter().any(|x| std::ptr::eq(*x, rule)))
                }) {
                    match s.rules.is_empty() {
                        true => "suppression comment suppresses nothing".to_string(),
                        false => format!(
                            "`{}` does not fire here: the suppression is unused",
                            s.rules.join("`, `")
                        ),
                    }
                } else {
                    // Names a rule that is not running: it may be needed when it runs.
                    continue;
                };
                kept.push(Finding {
                    rule: unused_rule,
                    severity: unused_rule.severity,
                    file: id as FileId,
                    range: s.range,
                    message,
                    help: s.empty_list.then(|| {
                        "list the rules it is for, such as `ignore[AU001]`; without brackets it \
                         ignores every rule"
                            .to_string()
                    }),
                    service: project.owner[id],
                });
            }
        }
    }
    kept
}

/// A file's suppressions, its multi-line statements, and the region each suppression covers
/// beyond its own lines (Kubernetes annotations).
type FileSuppressions<'a> = (
    &'a [model::code::SuppressionComment],
    &'a [TextRange],
    &'a [Option<TextRange>],
);

fn file_suppressions(project: &Project, file: FileId) -> Option<FileSuppressions<'_>> {
    if let Some(code) = project.code(file) {
        return Some((&code.suppressions, &code.statement_ranges, &[]));
    }
    let a = project.artefact(file)?;
    Some((&a.suppressions, &a.statement_ranges, &a.regions))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `app/main.py` audited in memory with only `select` running: each finding as
    /// `line code message`.
    fn audited(code: &str, select: &[&str]) -> Vec<String> {
        use crate::audit::config::Config;
        use crate::audit::{Settings, audit_sources};
        let config = Config {
            select: select.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        };
        let settings = Settings::in_memory(config).unwrap();
        let audited = audit_sources(&[("app/main.py", code.as_bytes())], &settings).unwrap();
        audited
            .into_report()
            .findings
            .iter()
            .map(|f| format!("{} {} {}", f.line, f.code, f.message))
            .collect()
    }

    const SUPPRESSED: &str = "\
from fastapi import FastAPI

app = FastAPI()

print(\"a\")  # svc: ignore[print-call] startup banner
# svc: ignore[LG001] on the line before
print(\"b\")
print(\"c\")
print(
    \"d\",  # svc: ignore[print-call] anywhere in the statement
)
x = 1  # svc: ignore[print-call] nothing here
y = 2  # svc: ignore[nope]
z = 3  # svc: ignore[hardcoded-secret] not running
";

    #[test]
    fn suppressions_drop_the_findings_they_cover_and_report_the_unused_ones() {
        let print = "`print()` in service code writes unstructured output";
        assert_eq!(
            audited(SUPPRESSED, &["print-call", "unused-suppression"]),
            [
                format!("8 LG001 {print}"),
                "12 SV003 `print-call` does not fire here: the suppression is unused".into(),
                "13 SV003 suppression names unknown rule `nope`".into(),
            ]
        );
        // Without `unused-suppression` running, the same findings are dropped and nothing
        // is said of the others.
        assert_eq!(
            audited(SUPPRESSED, &["LG001"]),
            [format!("8 LG001 {print}")]
        );
        // Without the rule they name running, suppressions are not unused.
        assert_eq!(
            audited(SUPPRESSED, &["SV003"]),
            ["13 SV003 suppression names unknown rule `nope`"]
        );
    }

    #[test]
    fn a_file_level_suppression_covers_the_whole_file() {
        let code = "\
# svc: ignore-file[print-call] output for the operator
from fastapi import FastAPI

app = FastAPI()
print(1)


def f():
    print(2)


f()
";
        assert_eq!(
            audited(code, &["print-call", "unused-suppression"]),
            Vec::<String>::new()
        );
        // The same file without it: both calls are found.
        let found = audited(code.split_once('\n').unwrap().1, &["print-call"]);
        assert_eq!(
            found.iter().map(|f| &f[..7]).collect::<Vec<_>>(),
            ["4 LG001", "8 LG001"]
        );
        // Without brackets every rule is ignored; with nothing to ignore, it is unused.
        assert_eq!(
            audited("x = 1  # svc: ignore\n", &["ALL"]),
            ["1 SV003 suppression comment suppresses nothing"]
        );
    }

    #[test]
    fn parses_rule_lists_and_file_level() {
        let r = TextRange::default();
        let s = parse_suppression("# svc: ignore[print-call, AU001] debugging aid", r).unwrap();
        assert_eq!(
            s.rules,
            vec!["print-call".into(), "AU001".into()] as Vec<Box<str>>
        );
        assert!(!s.file_level);
        let s = parse_suppression("#svc: ignore-file[hardcoded-secret]", r).unwrap();
        assert!(s.file_level);
        assert!(
            parse_suppression("# svc: ignore", r)
                .unwrap()
                .rules
                .is_empty()
        );
        assert!(!parse_suppression("# svc: ignore", r).unwrap().empty_list);
        for empty in ["# svc: ignore[]", "# svc: ignore-file[ , ] later"] {
            let s = parse_suppression(empty, r).unwrap();
            assert!(s.rules.is_empty() && s.empty_list, "{empty}");
        }
        assert!(parse_suppression("# svc: ignored", r).is_none());
        assert!(parse_suppression("# noqa: E501", r).is_none());
        assert!(parse_suppression("# svc: ignore[unterminated", r).is_none());
    }

    fn range(start: u32, end: u32) -> TextRange {
        TextRange::new(start.into(), end.into())
    }

    #[test]
    fn innermost_statement_of_nested_disjoint_and_overlapping_ranges() {
        let nested = [range(0, 100), range(10, 20), range(30, 90), range(40, 50)];
        let s = Statements::new(&nested);
        assert!(s.nested.is_some());
        assert_eq!(s.innermost(5.into()), Some(range(0, 100)));
        assert_eq!(s.innermost(15.into()), Some(range(10, 20)));
        assert_eq!(s.innermost(25.into()), Some(range(0, 100)));
        assert_eq!(s.innermost(45.into()), Some(range(40, 50)));
        assert_eq!(s.innermost(60.into()), Some(range(30, 90)));
        assert_eq!(s.innermost(100.into()), None);
        // Ranges that overlap without nesting, or an empty one: each is looked at.
        let overlapping = [range(0, 50), range(40, 60), range(70, 70)];
        let s = Statements::new(&overlapping);
        assert!(s.nested.is_none());
        assert_eq!(s.innermost(45.into()), Some(range(40, 60)));
        assert_eq!(s.innermost(70.into()), Some(range(70, 70)));
    }

    #[test]
    fn cover_matches_lines_files_regions_and_rule_names() {
        use crate::audit::rules::meta::{syntax_error, unreadable_file};
        let comment = |rules: &[&str], file_level: bool, at: u32| SuppressionComment {
            rules: rules.iter().map(|r| (*r).into()).collect(),
            empty_list: false,
            file_level,
            range: range(at, at + 1),
        };
        let suppressions = [
            comment(&["syntax-error"], false, 0),
            comment(&["sv002"], false, 0),
            comment(&[], false, 0),
            comment(&["SV002"], true, 0),
            comment(&["no-such-rule"], false, 0),
            comment(&["SYNTAX-ERROR"], false, 0),
            comment(&["SV001"], false, 0),
        ];
        let lines = [3, 10, 20, 30, 5, 5, 40];
        let regions = [None, None, None, None, None, None, Some(range(400, 500))];
        let finding = |rule, start: u32, lines| Covered {
            rule,
            start: start.into(),
            lines,
        };
        let findings = [
            // Lines 3..=4: the syntax-error comment at 3.
            finding(&syntax_error::RULE, 35, (3, 4)),
            // Lines 9..=9: nothing (the rule-less comment is at 20, `sv002` at 10).
            finding(&syntax_error::RULE, 95, (9, 9)),
            // Lines 19..=21: the comment naming no rule.
            finding(&syntax_error::RULE, 195, (19, 21)),
            // Anywhere: the file-level SV002.
            finding(&unreadable_file::RULE, 900, (50, 50)),
            // In the region of the annotation naming SV001.
            finding(&syntax_error::RULE, 450, (60, 60)),
        ];
        let (suppressed, used) = cover(&suppressions, &lines, &regions, &findings);
        assert_eq!(suppressed, [true, false, true, true, true]);
        // `sv002` at line 10 covers no SV002 finding's lines; an unknown rule and a name in
        // the wrong case match nothing.
        assert_eq!(used, [true, false, true, true, false, false, true]);
    }

    /// `cover` against the loop it replaced (every finding against every suppression) on
    /// random files.
    #[test]
    fn cover_agrees_with_matching_each_pair() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as u32
        };
        let names = [
            "print-call",
            "LG001",
            "lg001",
            "AU003",
            "hardcoded-secret",
            "nope",
        ];
        for _ in 0..300 {
            let suppressions: Vec<SuppressionComment> = (0..next(12))
                .map(|_| SuppressionComment {
                    rules: (0..next(3))
                        .map(|_| names[next(6) as usize].into())
                        .collect(),
                    empty_list: next(6) == 0,
                    file_level: next(8) == 0,
                    range: range(0, 1),
                })
                .collect();
            let lines: Vec<u32> = suppressions.iter().map(|_| 1 + next(30)).collect();
            let regions: Vec<Option<TextRange>> = suppressions
                .iter()
                .map(|_| {
                    let start = next(300);
                    (next(4) == 0).then(|| range(start, start + next(100)))
                })
                .collect();
            let rules = ["print-call", "AU003", "syntax-error", "SV002"]
                .map(|r| crate::audit::rules::find(r).unwrap());
            let findings: Vec<Covered> = (0..next(15))
                .map(|_| {
                    let first = next(30);
                    Covered {
                        rule: rules[next(4) as usize],
                        start: next(400).into(),
                        lines: (first, first + next(4)),
                    }
                })
                .collect();
            let (suppressed, used) = cover(&suppressions, &lines, &regions, &findings);
            let mut expect_used = vec![false; suppressions.len()];
            for (j, f) in findings.iter().enumerate() {
                let mut hit = false;
                for (i, s) in suppressions.iter().enumerate() {
                    let names_rule = (s.rules.is_empty() && !s.empty_list)
                        || s.rules
                            .iter()
                            .any(|r| r.eq_ignore_ascii_case(f.rule.code) || **r == *f.rule.name);
                    let in_region = regions[i].is_some_and(|r| r.contains(f.start));
                    let on_lines = f.lines.0 <= lines[i] && lines[i] <= f.lines.1;
                    if names_rule && (in_region || s.file_level || on_lines) {
                        hit = true;
                        expect_used[i] = true;
                    }
                }
                assert_eq!(suppressed[j], hit, "finding {j}");
            }
            assert_eq!(used, expect_used);
        }
    }
}
