//! The only place that runs `git`. Asking it about a work tree: which lines
//! were added since a revision (`git diff -U0`), which commit added a line
//! (`git blame --porcelain`), the work tree's top, the author's identity,
//! the subjects of the commits that touched some files, and applying
//! patches to a scratch directory (`git apply`).
//!
//! Every call runs the `git` binary found on `PATH`, with the options that
//! make its output independent of the user's configuration (prefixes,
//! colours, external diff drivers, path quoting).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::diff;

/// A problem running git or reading what it said.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git: {0}; is git installed?")]
    Spawn(std::io::Error),
    /// `git` ran and failed.
    #[error("{dir}: git {args} failed: {stderr}")]
    Failed {
        /// Where it ran.
        dir: String,
        /// Its arguments.
        args: String,
        /// Its first line of error output.
        stderr: String,
    },
    /// The directory is not inside a git work tree.
    #[error("{0}: not inside a git work tree; --since needs one")]
    NotARepo(String),
    /// git does not know who the author is.
    #[error("{dir}: git var GIT_AUTHOR_IDENT failed: {msg}; set user.name and user.email with git config")]
    Author {
        /// Where git ran.
        dir: String,
        /// What git said.
        msg: String,
    },
    /// The revision does not name a commit.
    #[error("{dir}: '{rev}' is not a commit in this repository")]
    BadRevision {
        /// The repository.
        dir: String,
        /// The revision given.
        rev: String,
    },
}

/// The commit that added a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A commit: its id, its author and its subject.
    Commit {
        /// Full hexadecimal id.
        id: String,
        /// Author name.
        author: String,
        /// Author e-mail address, without angle brackets.
        email: String,
        /// The subject line.
        subject: String,
    },
    /// The line is in the work tree or the index, not in a commit.
    Uncommitted,
}

impl Origin {
    /// The kernel's way to name a commit: `added in 1234567890ab ("subject")
    /// by Name <mail>`, or `not committed yet`.
    pub fn describe(&self) -> String {
        match self {
            Origin::Commit {
                id,
                author,
                email,
                subject,
            } => format!(
                "added in {} (\"{subject}\") by {author} <{email}>",
                &id[..id.len().min(12)]
            ),
            Origin::Uncommitted => "not committed yet".to_string(),
        }
    }
}

/// Lines added to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// These 1-based line ranges of the work tree file.
    Lines(Vec<Range<usize>>),
    /// The whole file (untracked, or new since the revision).
    Whole,
}

impl Added {
    /// True when 1-based `line` was added.
    pub fn contains(&self, line: usize) -> bool {
        match self {
            Added::Lines(ranges) => ranges.iter().any(|r| r.contains(&line)),
            Added::Whole => true,
        }
    }
}

/// A git work tree.
#[derive(Debug, Clone)]
pub struct Repo {
    /// Its top-level directory, canonical.
    pub top: PathBuf,
}

fn git(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Result<Vec<u8>, GitError> {
    git_with(dir, args, stdin, &[])
}

/// Runs git in `dir` and returns what it printed, whether it succeeded or
/// not; an error only when it could not be started.
fn run_raw(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Output, GitError> {
    let mut cmd = Command::new("git");
    cmd.envs(env.iter().copied());
    cmd.current_dir(dir)
        .args(["-c", "core.quotePath=false", "-c", "color.ui=never"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C");
    let mut child = cmd.spawn().map_err(GitError::Spawn)?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // git may stop reading early (a patch it rejects); its status says so.
        let _ = pipe.write_all(input);
    }
    child.wait_with_output().map_err(GitError::Spawn)
}

fn git_with(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Vec<u8>, GitError> {
    let out = run_raw(dir, args, stdin, env)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(GitError::Failed {
            dir: dir.display().to_string(),
            args: args.join(" "),
            stderr: stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no message")
                .trim()
                .to_string(),
        })
    }
}

/// What git printed when it succeeded, `None` when it ran and failed.
fn git_opt(dir: &Path, args: &[&str]) -> Result<Option<String>, GitError> {
    match git(dir, args, None) {
        Ok(out) => Ok(Some(String::from_utf8_lossy(&out).into_owned())),
        Err(GitError::Failed { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The top of the git work tree `dir` is in, canonical; `None` outside one.
pub fn top(dir: &Path) -> Option<PathBuf> {
    let top = git_opt(dir, &["rev-parse", "--show-toplevel"]).ok()??;
    std::fs::canonicalize(top.trim()).ok()
}

/// Who git would name as the author of a commit made now in `dir`, and
/// when: `git var GIT_AUTHOR_IDENT` (`Name <mail> 1700000000 +0100`, from
/// `user.name`, `user.email` and `GIT_AUTHOR_*`); with the `Signed-off-by:`
/// value when `user.name` and `user.email` are both set.
pub fn author_ident(dir: &Path) -> Result<(String, Option<String>), GitError> {
    let out = run_raw(dir, &["var", "GIT_AUTHOR_IDENT"], None, &[])?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(GitError::Author {
            dir: dir.display().to_string(),
            msg: stderr
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("no message")
                .trim()
                .to_string(),
        });
    }
    let ident = String::from_utf8_lossy(&out.stdout).into_owned();
    let name = git_opt(dir, &["config", "user.name"])?;
    let email = git_opt(dir, &["config", "user.email"])?;
    let signoff = match (name, email) {
        (Some(n), Some(e)) if !n.trim().is_empty() && !e.trim().is_empty() => {
            Some(format!("{} <{}>", n.trim(), e.trim()))
        }
        _ => None,
    };
    Ok((ident, signoff))
}

/// A commit of the history, as a series' subject prefixes read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its subject.
    pub subject: String,
    /// How many files it touched in the whole tree, not only among the
    /// files asked about (an import or a treewide change touches
    /// thousands).
    pub n_files: usize,
}

/// The last commits (at most 300, no merges) that touched `files` in the
/// repository at `top`, newest first. Names only, no renames: git compares
/// trees and never reads a file's content, so an import of a whole tree
/// costs a list of names.
pub fn log_commits(top: &Path, files: &[&str]) -> Vec<Commit> {
    let mut args = vec![
        "log",
        "--no-merges",
        "--no-renames",
        "--full-diff",
        "--name-only",
        "--format=%x00%s",
        "-n",
        "300",
        "--",
    ];
    args.extend(files);
    let Ok(Some(out)) = git_opt(top, &args) else {
        return Vec::new();
    };
    out.split('\0')
        .skip(1)
        .map(|record| {
            let mut lines = record.lines();
            let subject = lines.next().unwrap_or_default().to_string();
            let n_files = lines.filter(|l| !l.is_empty()).count();
            Commit { subject, n_files }
        })
        .collect()
}

/// How many files HEAD of the repository at `top` tracks (0 when it has
/// no commit).
pub fn tracked_files(top: &Path) -> usize {
    match git_opt(top, &["ls-tree", "-r", "-z", "--name-only", "HEAD"]) {
        Ok(Some(out)) => out.split('\0').filter(|n| !n.is_empty()).count(),
        _ => 0,
    }
}

/// The commit `rev` names in the repository at `top`, as a full id.
pub fn resolve_commit(top: &Path, rev: &str) -> Result<String, GitError> {
    let spec = format!("{rev}^{{commit}}");
    match git_opt(top, &["rev-parse", "--verify", "--quiet", &spec])? {
        Some(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => Err(GitError::BadRevision {
            dir: top.display().to_string(),
            rev: rev.to_string(),
        }),
    }
}

/// True when `files` are in the work tree of `top` as commit `rev` has
/// them.
pub fn same_as(top: &Path, rev: &str, files: &[&str]) -> bool {
    let mut args = vec!["diff", "--quiet", rev, "--"];
    args.extend(files);
    matches!(git_opt(top, &args), Ok(Some(_)))
}

/// HEAD of the repository at `top`, when `files` are as HEAD has them.
pub fn head_if_clean(top: &Path, files: &[&str]) -> Option<String> {
    let head = git_opt(top, &["rev-parse", "--verify", "--quiet", "HEAD"]).ok()??;
    let mut args = vec!["status", "--porcelain", "--untracked-files=all", "--"];
    args.extend(files);
    let status = git_opt(top, &args).ok()??;
    status.trim().is_empty().then(|| head.trim().to_string())
}

impl Repo {
    /// The work tree that holds `path` (a file or a directory).
    pub fn discover(path: &Path) -> Result<Repo, GitError> {
        let dir = if path.is_dir() {
            path
        } else {
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        };
        let out = git(dir, &["rev-parse", "--show-toplevel"], None)
            .map_err(|_| GitError::NotARepo(path.display().to_string()))?;
        let top = String::from_utf8_lossy(&out).trim_end().to_string();
        let top = std::fs::canonicalize(&top).unwrap_or_else(|_| PathBuf::from(top));
        Ok(Repo { top })
    }

    /// The path of `file` relative to the top, with `/` separators, or
    /// `None` when it is outside.
    pub fn relative(&self, file: &Path) -> Option<String> {
        let abs = std::fs::canonicalize(file).ok()?;
        let rel = abs.strip_prefix(&self.top).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/"),
        )
    }

    fn run(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        git(&self.top, args, None)
    }

    /// The lines of the work tree added since `rev`, by file relative to
    /// the top: `git diff -U0 REV` (committed, staged and unstaged changes),
    /// plus every line of untracked files that `.gitignore` does not hide.
    pub fn added_since(&self, rev: &str) -> Result<HashMap<String, Added>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        if self
            .run(&["rev-parse", "--verify", "--quiet", &spec])
            .is_err()
        {
            return Err(GitError::BadRevision {
                dir: self.top.display().to_string(),
                rev: rev.to_string(),
            });
        }
        let diff = self.run(&[
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            rev,
            "--",
        ])?;
        let mut added = parse_added(&diff);
        let untracked = self.run(&["ls-files", "-z", "--others", "--exclude-standard"])?;
        for name in untracked.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            added.insert(String::from_utf8_lossy(name).into_owned(), Added::Whole);
        }
        Ok(added)
    }

    /// The lines the index adds to HEAD (what `git commit` would commit),
    /// by file relative to the top: `git diff --cached -U0`. Without a
    /// HEAD, every staged line.
    pub fn added_cached(&self) -> Result<HashMap<String, Added>, GitError> {
        let diff = self.run(&[
            "diff",
            "--cached",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--",
        ])?;
        Ok(parse_added(&diff))
    }

    /// Writes the staged version of each of `files` (relative to the top)
    /// below `dir`, at the same relative path (`git checkout-index`).
    pub fn checkout_staged(&self, files: &[&str], dir: &Path) -> Result<(), GitError> {
        if files.is_empty() {
            return Ok(());
        }
        let prefix = format!("--prefix={}/", dir.display());
        let mut args = vec!["checkout-index", prefix.as_str(), "--"];
        args.extend(files);
        self.run(&args).map(|_| ())
    }

    /// The files (relative to the top) whose work-tree or index version
    /// may differ from HEAD's: `git diff-index --name-only HEAD`. A file
    /// only touched (same content, new stat data) may be listed too.
    pub fn dirty(&self) -> Result<HashSet<String>, GitError> {
        let out = self.run(&["diff-index", "--name-only", "-z", "HEAD", "--"])?;
        Ok(out
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty())
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .collect())
    }

    /// Who added each of `lines` (1-based) of `file` (relative to the top),
    /// as the work tree has it: `git blame --porcelain`, one `-L` per line.
    /// With `at_head`, the caller knows the file is as HEAD has it
    /// ([`Repo::dirty`] does not list it), and HEAD is blamed: git then
    /// neither reads the index nor looks at the work tree, which costs
    /// 0.17 s a call on a whole kernel tree against 0.01 s.
    pub fn blame(
        &self,
        file: &str,
        lines: &[usize],
        at_head: bool,
    ) -> Result<HashMap<usize, Origin>, GitError> {
        if lines.is_empty() {
            return Ok(HashMap::new());
        }
        let ranges: Vec<String> = lines.iter().map(|l| format!("-L{l},{l}")).collect();
        let mut args = vec!["blame", "--porcelain"];
        args.extend(ranges.iter().map(String::as_str));
        if at_head {
            args.push("HEAD");
        }
        args.extend(["--", file]);
        match self.run(&args) {
            Ok(out) => Ok(parse_blame(&out)),
            Err(e) => {
                // A file that HEAD lacks (new, staged or not) has no history
                // to blame: all of it is uncommitted.
                let in_head = self
                    .run(&["cat-file", "-e", &format!("HEAD:{file}")])
                    .is_ok();
                if in_head {
                    Err(e)
                } else {
                    Ok(lines.iter().map(|&l| (l, Origin::Uncommitted)).collect())
                }
            }
        }
    }
}

/// Applies `patch` (a unified or git diff) to the files below `dir` with
/// `git apply`, as a plain patch tool: the repository search stops at `dir`,
/// so a scratch directory inside some work tree is still patched on its own.
pub fn apply(dir: &Path, patch: &[u8]) -> Result<(), GitError> {
    let ceiling = dir.parent().unwrap_or(dir);
    git_with(
        dir,
        &["apply", "--whitespace=nowarn", "-"],
        Some(patch),
        &[("GIT_CEILING_DIRECTORIES", ceiling.as_os_str())],
    )
    .map(|_| ())
}

/// Added line ranges by file from `git diff -U0` output.
fn parse_added(out: &[u8]) -> HashMap<String, Added> {
    let mut added: HashMap<String, Added> = HashMap::new();
    // git's own output: its hunks have the lines their headers count.
    for file in diff::read(out).unwrap_or_default() {
        let Some(name) = file.new_path else { continue };
        for h in file.hunks.iter().filter(|h| h.new_len > 0) {
            if let Added::Lines(v) = added
                .entry(name.clone())
                .or_insert_with(|| Added::Lines(Vec::new()))
            {
                v.push(h.new_start..h.new_start + h.new_len);
            }
        }
    }
    added
}

/// Origins by final line number from `git blame --porcelain` output.
fn parse_blame(out: &[u8]) -> HashMap<usize, Origin> {
    #[derive(Default, Clone)]
    struct Info {
        author: String,
        email: String,
        subject: String,
    }
    let mut infos: HashMap<String, Info> = HashMap::new();
    let mut lines_of: Vec<(String, usize)> = Vec::new();
    let mut current: Option<String> = None;
    for line in out.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        if line.starts_with('\t') {
            current = None;
            continue;
        }
        let mut words = line.split(' ');
        let first = words.next().unwrap_or("");
        if first.len() == 40 && first.bytes().all(|b| b.is_ascii_hexdigit()) {
            if let Some(final_line) = words.nth(1).and_then(|w| w.parse().ok()) {
                lines_of.push((first.to_string(), final_line));
                infos.entry(first.to_string()).or_default();
                current = Some(first.to_string());
            }
            continue;
        }
        let Some(sha) = &current else { continue };
        let info = infos.entry(sha.clone()).or_default();
        if let Some(v) = line.strip_prefix("author ") {
            info.author = v.to_string();
        } else if let Some(v) = line.strip_prefix("author-mail ") {
            info.email = v.trim_start_matches('<').trim_end_matches('>').to_string();
        } else if let Some(v) = line.strip_prefix("summary ") {
            info.subject = v.to_string();
        }
    }
    lines_of
        .into_iter()
        .map(|(sha, line)| {
            let origin = if sha.bytes().all(|b| b == b'0') {
                Origin::Uncommitted
            } else {
                let i = infos.get(&sha).cloned().unwrap_or_default();
                Origin::Commit {
                    id: sha,
                    author: i.author,
                    email: i.email,
                    subject: i.subject,
                }
            };
            (line, origin)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_from_a_zero_context_diff() {
        let diff = b"diff --git a/x.c b/x.c\nindex 1..2 100644\n--- a/x.c\n+++ b/x.c\n@@ -3,0 +4,2 @@ f\n+a\n+b\n@@ -9 +11 @@\n-c\n+d\n@@ -20,2 +21,0 @@\n-e\n-f\ndiff --git a/gone.c b/gone.c\n--- a/gone.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git a/\"t\\tb.c\" b/\"t\\tb.c\"\n--- /dev/null\n+++ \"b/t\\tb.c\"\n@@ -0,0 +1 @@\n+y\n";
        let added = parse_added(diff);
        assert_eq!(added.len(), 2, "{added:?}");
        assert_eq!(added["x.c"], Added::Lines(vec![4..6, 11..12]));
        assert!(added["t\tb.c"].contains(1) && !added["t\tb.c"].contains(2));
        assert!(added["x.c"].contains(5) && !added["x.c"].contains(6));
    }

    #[test]
    fn blame_porcelain_repeats_headers_once_per_commit() {
        let sha = "1234567890abcdef1234567890abcdef12345678";
        let zero = "0000000000000000000000000000000000000000";
        let out = format!(
            "{sha} 3 5 1\nauthor A U Thor\nauthor-mail <a@u.thor>\nauthor-time 1\nsummary block: add x\nfilename x.c\n\tline\n{zero} 9 9 1\nauthor Not Committed Yet\nauthor-mail <not.committed.yet>\nsummary Version of x.c from x.c\nfilename x.c\n\tline\n{sha} 4 12 1\nfilename x.c\n\tline\n"
        );
        let got = parse_blame(out.as_bytes());
        let commit = Origin::Commit {
            id: sha.into(),
            author: "A U Thor".into(),
            email: "a@u.thor".into(),
            subject: "block: add x".into(),
        };
        assert_eq!(got[&5], commit);
        assert_eq!(got[&12], commit);
        assert_eq!(got[&9], Origin::Uncommitted);
        assert_eq!(
            commit.describe(),
            "added in 1234567890ab (\"block: add x\") by A U Thor <a@u.thor>"
        );
    }
}
