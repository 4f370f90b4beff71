//! `bvmig validate`: proof on executable fixtures that a rewrite keeps
//! meaning, and that the converted code works without `struct page`.
//!
//! Each fixture (`DIR/NAME/fixture.c`, kernel-style C that uses `bv_page`
//! directly, and `DIR/NAME/scenario`, the worlds to run it in) is rewritten
//! twice: by the default rule (`rules/bv_page.cocci`) into the *converted*
//! version, and that by `rules/bv_pfn-api.cocci` (uses moved to the pfn
//! API) and `rules/bv_pfn.cocci` (the layout) into the *final* one. The
//! original and converted versions are compiled in the `bv_page` layout of
//! `struct bio_vec`, the final one in the `bv_pfn` layout, where a raw
//! `bv_page` left behind does not compile. Each runs in a fresh world built
//! from every scenario, in a child process (a crash or a hang is an
//! outcome), and what the converted and final versions did is compared with
//! what the original did: return value, scatterlist and DMA entries,
//! misuse, reported values, the bios as left, and every byte of memory. The
//! first difference fails the fixture.
//!
//! **Page-less memory.** The `bv_page` layout cannot name persistent memory
//! without a memmap at all, so for a scenario that uses some, the original
//! and converted versions run on a world where that memory is DRAM at the
//! same physical addresses (covered by the memmap), and the final version
//! on the world as described. Everything compared is in physical terms
//! (addresses, lengths, directions, bytes), never page pointers or `pfn_t`
//! flags, so the runs compare as they are. A final version that still asks
//! for the page of page-less memory (`bvec_page()`) fails with the bvec
//! (bio and index, or iteration segment) and its pfn.
//!
//! The scenario format is described in [`parse_scenarios`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bvmig_runtime::ffi::Layout;
use bvmig_runtime::host::{
    run_isolated, signal_name, BioSpec, Compiler, DmaSpec, HostError, Memory, Object, Outcome,
    PmemSpec, RequestSpec, SegSpec, Setup,
};
use bvmig_runtime::memory::DevMemmap;
use bvmig_runtime::observe::{BioId, BvecRef, Event, Observation};
use bvmig_runtime::request::QueueLimits;

use crate::engine::site::Status;
use crate::engine::Engine;
use crate::file::IoError;
use crate::smpl::{RuleError, RuleFile};

/// The rule that moves page-free uses of `bvec_page()` to the pfn API.
pub const BV_PFN_API_RULE: &str = include_str!("../../rules/bv_pfn-api.cocci");
/// The name under which [`BV_PFN_API_RULE`] is reported.
pub const BV_PFN_API_RULE_NAME: &str = "rules/bv_pfn-api.cocci (built in)";
/// The rule that gives `struct bio_vec` a `bv_pfn` (the member, the
/// helpers' bodies, designated initializers).
pub const BV_PFN_RULE: &str = include_str!("../../rules/bv_pfn.cocci");
/// The name under which [`BV_PFN_RULE`] is reported.
pub const BV_PFN_RULE_NAME: &str = "rules/bv_pfn.cocci (built in)";

/// The fixture headers, built in so that `bvmig validate` needs no
/// checkout: each path under `fixtures/include` with its text.
const HEADERS: &[(&str, &str)] = &[
    (
        "bvmig/fixture.h",
        include_str!("../../fixtures/include/bvmig/fixture.h"),
    ),
    (
        "bvmig/runtime.h",
        include_str!("../../fixtures/include/bvmig/runtime.h"),
    ),
    (
        "linux/bio.h",
        include_str!("../../fixtures/include/linux/bio.h"),
    ),
    (
        "linux/blkdev.h",
        include_str!("../../fixtures/include/linux/blkdev.h"),
    ),
    (
        "linux/bvec.h",
        include_str!("../../fixtures/include/linux/bvec.h"),
    ),
    (
        "linux/dma-mapping.h",
        include_str!("../../fixtures/include/linux/dma-mapping.h"),
    ),
    (
        "linux/gfp.h",
        include_str!("../../fixtures/include/linux/gfp.h"),
    ),
    (
        "linux/highmem.h",
        include_str!("../../fixtures/include/linux/highmem.h"),
    ),
    (
        "linux/kernel.h",
        include_str!("../../fixtures/include/linux/kernel.h"),
    ),
    (
        "linux/mm.h",
        include_str!("../../fixtures/include/linux/mm.h"),
    ),
    (
        "linux/pfn_t.h",
        include_str!("../../fixtures/include/linux/pfn_t.h"),
    ),
    (
        "linux/scatterlist.h",
        include_str!("../../fixtures/include/linux/scatterlist.h"),
    ),
    (
        "linux/types.h",
        include_str!("../../fixtures/include/linux/types.h"),
    ),
];

/// How to validate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only these fixtures (all when empty).
    pub only: Vec<String>,
    /// Use this text as the converted version of the named fixture instead
    /// of the default rule's output (to test the harness on a known-wrong
    /// rewrite, or a rewrite made by another tool).
    pub converted: BTreeMap<String, Vec<u8>>,
    /// Headers to compile against instead of the built-in copy of
    /// `fixtures/include`.
    pub include: Option<PathBuf>,
    /// The C compiler (default `$CC`, or `cc`).
    pub cc: Option<OsString>,
    /// How long one run of one version may take.
    pub timeout: Duration,
    /// Write each fixture's three versions to `KEEP/NAME/{original,
    /// converted,final}.c`, for a human to read.
    pub keep: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            only: Vec::new(),
            converted: BTreeMap::new(),
            include: None,
            cc: None,
            timeout: Duration::from_secs(20),
            keep: None,
        }
    }
}

/// What stops validation as a whole (a problem with one fixture is in the
/// [`Report`] instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The directory holds no fixture.
    #[error("{}: no fixtures (directories holding fixture.c and scenario)", .0.display())]
    NoFixtures(PathBuf),
    /// A fixture asked for by name does not exist.
    #[error("{}: no fixture '{name}'", dir.display())]
    UnknownFixture {
        /// The fixture directory.
        dir: PathBuf,
        /// The name asked for.
        name: String,
    },
    /// A built-in rule does not parse.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The C compiler is missing or cannot run.
    #[error(transparent)]
    Compiler(HostError),
}

/// One of a fixture's three versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// As written.
    Original,
    /// After the default rule, in the `bv_page` layout.
    Converted,
    /// After the bv_pfn rules too, in the `bv_pfn` layout.
    Final,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::Original => "original",
            Version::Converted => "converted",
            Version::Final => "final",
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How bad a fixture's problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The rewrite changed what the code does, or does not compile: what
    /// `validate` exists to find.
    Failed,
    /// The fixture itself is unusable: its scenario does not parse, or the
    /// original does not compile, crashes or hangs.
    Broken,
}

/// A problem of one fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// What, naming the scenario and version and the first difference.
    pub message: String,
}

/// What the original did in one scenario, for a reader to judge whether
/// the fixture exercises anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Whether it names memory without a memmap (the original and the
    /// converted version then ran on DRAM at the same addresses).
    pub pageless: bool,
    /// The original's return value.
    pub ret: i32,
    /// Its events (scatterlist, DMA, misuse, reports), described.
    pub events: Vec<String>,
    /// The digest of memory at the end.
    pub digest: u64,
}

/// The outcome of one fixture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureReport {
    /// Its name (its directory's).
    pub name: String,
    /// Scenarios run.
    pub scenarios: usize,
    /// What the original did in each scenario it completed.
    pub originals: Vec<ScenarioReport>,
    /// What the rules did: sites rewritten and left.
    pub rewrite: String,
    /// Problems; none if it passed.
    pub problems: Vec<Problem>,
}

impl FixtureReport {
    /// Whether every version did what the original did in every scenario.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The outcome of a validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every fixture, sorted by name.
    pub fixtures: Vec<FixtureReport>,
}

impl Report {
    /// The text the command prints: a line per fixture, its problems
    /// indented below it, and a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (mut passed, mut failed, mut broken, mut scenarios) = (0, 0, 0, 0);
        for f in &self.fixtures {
            scenarios += f.scenarios;
            let word = if f.passed() {
                passed += 1;
                "ok"
            } else if f.problems.iter().any(|p| p.severity == Severity::Broken) {
                broken += 1;
                "BROKEN"
            } else {
                failed += 1;
                "FAIL"
            };
            let _ = writeln!(
                out,
                "{word:<6} {}: {} scenarios; {}",
                f.name, f.scenarios, f.rewrite
            );
            for p in &f.problems {
                for (i, line) in p.message.lines().enumerate() {
                    match i {
                        0 => writeln!(out, "  - {}: {line}", f.name),
                        _ => writeln!(out, "      {line}"),
                    }
                    .unwrap_or_default();
                }
            }
        }
        let _ = writeln!(
            out,
            "bvmig validate: {} fixtures, {scenarios} scenarios: {passed} passed, {failed} failed, {broken} broken",
            self.fixtures.len()
        );
        out
    }

    /// The exit status, as grep's: 0 when every fixture passed, 1 when a
    /// rewrite failed one, 2 when a fixture is broken.
    pub fn exit_code(&self) -> u8 {
        let all = self.fixtures.iter().flat_map(|f| &f.problems);
        let mut code = 0;
        for p in all {
            code = match p.severity {
                Severity::Broken => return 2,
                Severity::Failed => 1,
            };
        }
        code
    }
}

/// Validates every fixture under `dir` (see the module documentation).
pub fn run(dir: &Path, opts: &Options) -> Result<Report, Error> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(IoError::at(dir))? {
        let entry = entry.map_err(IoError::at(dir))?;
        let path = entry.path();
        if path.join("fixture.c").is_file() && path.join("scenario").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(Error::NoFixtures(dir.to_owned()));
    }
    for name in &opts.only {
        if !names.contains(name) {
            return Err(Error::UnknownFixture {
                dir: dir.to_owned(),
                name: name.clone(),
            });
        }
    }
    if !opts.only.is_empty() {
        names.retain(|n| opts.only.contains(n));
    }

    let work = tempfile::Builder::new()
        .prefix("bvmig-validate-")
        .tempdir()
        .map_err(IoError::at(&std::env::temp_dir()))?;
    let include = match &opts.include {
        Some(dir) => dir.clone(),
        None => {
            let include = work.path().join("include");
            for (name, text) in HEADERS {
                let path = include.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(IoError::at(parent))?;
                }
                std::fs::write(&path, text).map_err(IoError::at(&path))?;
            }
            include
        }
    };
    let ctx = Ctx {
        bv_page: Engine::new(RuleFile::default_rule()),
        bv_pfn_api: Engine::new(RuleFile::parse(BV_PFN_API_RULE_NAME, BV_PFN_API_RULE)?),
        bv_pfn: Engine::new(RuleFile::parse(BV_PFN_RULE_NAME, BV_PFN_RULE)?),
        cc: opts
            .cc
            .clone()
            .map_or_else(Compiler::from_env, Compiler::new),
        include,
        work: work.path().to_owned(),
        opts,
    };
    let mut fixtures = Vec::new();
    for name in names {
        fixtures.push(ctx.fixture(&dir.join(&name), &name)?);
    }
    Ok(Report { fixtures })
}

struct Ctx<'a> {
    bv_page: Engine,
    bv_pfn_api: Engine,
    bv_pfn: Engine,
    cc: Compiler,
    include: PathBuf,
    work: PathBuf,
    opts: &'a Options,
}

fn broken(message: String) -> Problem {
    Problem {
        severity: Severity::Broken,
        message,
    }
}

fn failed(message: String) -> Problem {
    Problem {
        severity: Severity::Failed,
        message,
    }
}

impl Ctx<'_> {
    fn fixture(&self, dir: &Path, name: &str) -> Result<FixtureReport, Error> {
        let mut report = FixtureReport {
            name: name.to_owned(),
            scenarios: 0,
            originals: Vec::new(),
            rewrite: String::new(),
            problems: Vec::new(),
        };
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read(&path).map_err(IoError::at(&path))
        };
        let original = read("fixture.c")?;
        let scenario_text = String::from_utf8_lossy(&read("scenario")?).into_owned();
        let scenario_name = format!("{name}/scenario");
        let scenarios = match parse_scenarios(&scenario_name, &scenario_text) {
            Ok(s) => s,
            Err(err) => {
                report.problems.push(broken(err.to_string()));
                return Ok(report);
            }
        };

        // The two rewrites.
        let (converted, mut rewrite) = match self.opts.converted.get(name) {
            Some(text) => (text.clone(), "bv_page: given, not rewritten".to_owned()),
            None => {
                let out = self.bv_page.rewrite(&original);
                let mut left = Vec::new();
                let mut n_rewritten = 0;
                for site in &out.sites {
                    match &site.status {
                        Status::Rewritten => n_rewritten += 1,
                        Status::Left(why) => {
                            left.push(format!("{}:{}: {}: {why}", site.line, site.col, site.kind))
                        }
                    }
                }
                let mut text = format!("bv_page: {n_rewritten} rewritten");
                if !left.is_empty() {
                    let _ = write!(text, ", {} left ({})", left.len(), left.join("; "));
                }
                (out.new_text.unwrap_or_else(|| original.clone()), text)
            }
        };
        let moved_text = self
            .bv_pfn_api
            .rewrite(&converted)
            .new_text
            .unwrap_or_else(|| converted.clone());
        let final_text = self
            .bv_pfn
            .rewrite(&moved_text)
            .new_text
            .unwrap_or_else(|| moved_text.clone());
        let count =
            |text: &[u8], what: &[u8]| text.windows(what.len()).filter(|w| *w == what).count();
        let moved =
            count(&final_text, b"bvec_pfn(").saturating_sub(count(&converted, b"bvec_pfn("));
        let _ = write!(rewrite, "; bv_pfn: {moved} bvec_pfn() calls added");
        let n_inits = count(&final_text, b".bv_pfn = ");
        if n_inits > 0 {
            let _ = write!(rewrite, ", {n_inits} .bv_pfn initializers");
        }
        report.rewrite = rewrite;

        // Build the three versions.
        let versions = [
            (Version::Original, Layout::Page, &original),
            (Version::Converted, Layout::Page, &converted),
            (Version::Final, Layout::Pfn, &final_text),
        ];
        let fixture_dir = self.work.join(name);
        std::fs::create_dir_all(&fixture_dir).map_err(IoError::at(&fixture_dir))?;
        let mut objects = Vec::new();
        for (version, layout, text) in versions {
            let source = fixture_dir.join(format!("{version}.c"));
            let write = |path: &Path| std::fs::write(path, text).map_err(IoError::at(path));
            write(&source)?;
            if let Some(keep) = &self.opts.keep {
                let kept = keep.join(name);
                std::fs::create_dir_all(&kept).map_err(IoError::at(&kept))?;
                write(&kept.join(format!("{version}.c")))?;
            }
            let so = fixture_dir.join(format!("{version}.so"));
            let built = self
                .cc
                .shared_object(&source, &self.include, layout, &so)
                .and_then(|()| Object::load(&so, layout));
            match built {
                Ok(obj) => objects.push((version, layout, obj)),
                Err(err @ (HostError::CcMissing { .. } | HostError::CcSpawn { .. })) => {
                    return Err(Error::Compiler(err))
                }
                Err(err) => {
                    let msg = format!("{version} does not build: {err}");
                    report.problems.push(match version {
                        Version::Original => broken(msg),
                        _ => failed(msg),
                    });
                }
            }
        }
        if !report.problems.is_empty() {
            return Ok(report);
        }

        for scenario in &scenarios {
            report.scenarios += 1;
            let (original, problem) = self.scenario(scenario, &objects);
            if let Some(obs) = original {
                report.originals.push(ScenarioReport {
                    name: scenario.name.clone(),
                    pageless: scenario.setup.uses_pageless_memory(),
                    ret: obs.ret,
                    events: obs.events.iter().map(|e| e.to_string()).collect(),
                    digest: obs.memory.digest(),
                });
            }
            report.problems.extend(problem);
        }
        Ok(report)
    }

    /// Runs one scenario in every version: what the original did, and the
    /// first problem, if any.
    fn scenario(
        &self,
        scenario: &Scenario,
        objects: &[(Version, Layout, Object)],
    ) -> (Option<Observation>, Option<Problem>) {
        let setup = &scenario.setup;
        let page_memory = if setup.uses_pageless_memory() {
            Memory::PagelessAsDram
        } else {
            Memory::AsDescribed
        };
        let mut original: Option<Observation> = None;
        for (version, layout, obj) in objects {
            let memory = match layout {
                Layout::Page => page_memory,
                Layout::Pfn => Memory::AsDescribed,
            };
            let at = format!("scenario {}: {version}", scenario.name);
            let outcome = match run_isolated(obj, *layout, setup, memory, self.opts.timeout) {
                Ok(o) => o,
                Err(err) => {
                    let msg = format!("{at}: {err}");
                    let problem = match version {
                        Version::Original => broken(msg),
                        _ => failed(msg),
                    };
                    return (original, Some(problem));
                }
            };
            let Some(orig) = &original else {
                match outcome {
                    Outcome::Completed(obs) => original = Some(obs),
                    other => {
                        let msg = format!("{at}: {}", describe_end(&other));
                        return (None, Some(broken(msg)));
                    }
                }
                continue;
            };
            let obs = match outcome {
                Outcome::Completed(obs) => obs,
                other => {
                    let msg = format!(
                        "{at}: {} where the original returned {}",
                        describe_end(&other),
                        orig.ret
                    );
                    return (original, Some(failed(msg)));
                }
            };
            if let Some(msg) = pageless_page(&obs, setup) {
                return (original, Some(failed(format!("{at}: {msg}"))));
            }
            if let Some(msg) = first_difference(orig, &obs, setup, *version) {
                let msg = format!("{at} differs from the original: {msg}");
                return (original, Some(failed(msg)));
            }
        }
        (original, None)
    }
}

fn describe_end(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Completed(obs) => format!("returned {}", obs.ret),
        Outcome::Crashed { signal } => format!("crashed with {}", signal_name(*signal)),
        Outcome::TimedOut(limit) => format!("did not finish within {limit:?}"),
    }
}

fn bio_name(id: BioId, setup: &Setup) -> String {
    match usize::try_from(id.0).ok().and_then(|i| setup.bios.get(i)) {
        Some(spec) => format!("bio '{}'", spec.name),
        None => format!("{id} (allocated by the fixture)"),
    }
}

/// The first `bvec_page()` of a page-less bvec, described.
fn pageless_page(obs: &Observation, setup: &Setup) -> Option<String> {
    obs.events.iter().find_map(|e| match e {
        Event::PagelessBvecPage { bvec, pfn, flags } => {
            let which = match bvec {
                BvecRef::Table { bio, idx } => format!("{} bi_io_vec[{idx}]", bio_name(*bio, setup)),
                BvecRef::Segment {
                    bio,
                    bi_idx,
                    bi_bvec_done,
                } => format!(
                    "the segment of {} at bi_idx {bi_idx}, bi_bvec_done {bi_bvec_done}",
                    bio_name(*bio, setup)
                ),
                BvecRef::Unknown => "a bio_vec outside any bio".to_owned(),
            };
            Some(format!(
                "bvec_page() of a page-less bio_vec: {which}, pfn {pfn:#x} ({}, flags {flags:#x}); it has no struct page, so the caller gets NULL (use bvec_pfn())",
                setup.describe_phys(pfn << 12)
            ))
        }
        _ => None,
    })
}

/// The first way `obs` differs from `orig`, in the order a reader wants
/// it: the result, then what was done in order, then the state left.
fn first_difference(
    orig: &Observation,
    obs: &Observation,
    setup: &Setup,
    version: Version,
) -> Option<String> {
    if orig.ret != obs.ret {
        return Some(format!(
            "returned {} where the original returned {}",
            obs.ret, orig.ret
        ));
    }
    let n = orig.events.len().max(obs.events.len());
    for i in 0..n {
        match (orig.events.get(i), obs.events.get(i)) {
            (Some(a), Some(b)) if a.same(b) => {}
            (a, b) => {
                let show = |e: Option<&Event>| e.map_or("nothing".to_owned(), |e| e.to_string());
                return Some(format!(
                    "event {}: original: {}; {version}: {}",
                    i + 1,
                    show(a),
                    show(b)
                ));
            }
        }
    }
    if orig.bios.len() != obs.bios.len() {
        return Some(format!(
            "{} live bios at the end where the original has {}",
            obs.bios.len(),
            orig.bios.len()
        ));
    }
    for (a, b) in orig.bios.iter().zip(&obs.bios) {
        let name = bio_name(a.id, setup);
        if a.vecs.len() != b.vecs.len() {
            return Some(format!(
                "{name}: bi_vcnt {} where the original has {}",
                b.vecs.len(),
                a.vecs.len()
            ));
        }
        for (idx, (x, y)) in a.vecs.iter().zip(&b.vecs).enumerate() {
            if x != y {
                return Some(format!(
                    "{name}: bi_io_vec[{idx}] is {y} where the original's is {x}"
                ));
            }
        }
        if a.iter != b.iter || a.cloned != b.cloned {
            return Some(format!(
                "{name}: bi_iter {:?} (cloned {}) where the original's is {:?} (cloned {})",
                b.iter, b.cloned, a.iter, a.cloned
            ));
        }
    }
    if orig.kmaps_held != obs.kmaps_held {
        return Some(format!(
            "{} atomic kmaps held at the end where the original holds {}",
            obs.kmaps_held, orig.kmaps_held
        ));
    }
    if orig.dma_mappings_live != obs.dma_mappings_live {
        return Some(format!(
            "{} DMA mappings live at the end where the original has {}",
            obs.dma_mappings_live, orig.dma_mappings_live
        ));
    }
    if let Some(d) = orig.memory.first_difference(&obs.memory) {
        return Some(format!(
            "memory (digest {:016x}, the original's {:016x}): first difference at phys {:#x} ({}): {:#04x} where the original has {:#04x}",
            obs.memory.digest(),
            orig.memory.digest(),
            d.phys,
            setup.describe_phys(d.phys),
            d.right,
            d.left
        ));
    }
    None
}

/// One world a fixture runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The world.
    pub setup: Setup,
}

/// A line of a scenario file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{col}: {msg}")]
pub struct ScenarioError {
    /// The file's name.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong.
    pub msg: String,
}

/// Parses a scenario file.
///
/// One statement per line; `#` starts a comment. Numbers are decimal or
/// `0x` hex; sizes take a `K`, `M`, `G` or `T` suffix (powers of 1024).
///
/// ```text
/// scenario NAME                       a world to run in; at least one
/// dram SIZE                           the dram region (default 16M)
/// pmem NAME SIZE memmap=none|device   persistent memory: no memmap, or
///                                     one on the device itself
/// dma NAME BITS                       a DMA master reaching 2^BITS bytes
/// bio NAME [sector=N] [rw=read|write] [vecs=N] SEG...
///     SEG is REGION:PAGE[+OFFSET][/LEN]: LEN bytes (default: to the end
///     of the page) at OFFSET into page PAGE of REGION, which is dram or
///     a pmem device; segments are added in order, so contiguous ones merge
/// request BIO... [segments=N]        the request (bios chained by bi_next)
///                                     and its scatterlist size (default 16)
/// limits KEY=N...                     queue limits: bounce_pfn,
///                                     max_segment_size, seg_boundary_mask,
///                                     max_segments
/// ```
///
/// Lines before the first `scenario` apply to every scenario; inside one,
/// a `pmem`, `dma` or `bio` with the name of a shared one replaces it. A
/// bio names memory declared above it. The `alloc_page` memory, the `dram`
/// region and the pmem devices are laid out as [`Setup`] says, the same in
/// every run, and every frame a bio names starts filled with
/// [`bvmig_runtime::host::pattern`] bytes.
pub fn parse_scenarios(path: &str, text: &str) -> Result<Vec<Scenario>, ScenarioError> {
    let mut shared = Setup::default();
    let mut scenarios: Vec<Scenario> = Vec::new();
    for (lno, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let words: Vec<(usize, &str)> = words(line);
        let Some(&(_, keyword)) = words.first() else {
            continue;
        };
        let err = |col: usize, msg: String| ScenarioError {
            path: path.to_owned(),
            line: lno + 1,
            col: col + 1,
            msg,
        };
        if keyword == "scenario" {
            let [_, (_, name)] = words[..] else {
                return Err(err(0, "expected 'scenario NAME'".into()));
            };
            if scenarios.iter().any(|s| s.name == name) {
                return Err(err(
                    words[1].0,
                    format!("scenario '{name}' is defined twice"),
                ));
            }
            scenarios.push(Scenario {
                name: name.to_owned(),
                setup: shared.clone(),
            });
            continue;
        }
        let setup = match scenarios.last_mut() {
            Some(s) => &mut s.setup,
            None => &mut shared,
        };
        statement(setup, &words).map_err(|(col, msg)| err(col, msg))?;
    }
    if scenarios.is_empty() {
        return Err(ScenarioError {
            path: path.to_owned(),
            line: 1,
            col: 1,
            msg: "no scenario: add a line 'scenario NAME'".into(),
        });
    }
    Ok(scenarios)
}

/// Words of a line with their byte columns.
fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

type ColErr = (usize, String);

fn number(col: usize, s: &str) -> Result<u64, ColErr> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G') => (&s[..s.len() - 1], 1 << 30),
        Some(b'T') => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse(),
    };
    value
        .ok()
        .and_then(|v| v.checked_mul(mult))
        .ok_or((col, format!("'{s}' is not a number")))
}

fn narrow<T: TryFrom<u64>>(col: usize, s: &str) -> Result<T, ColErr> {
    T::try_from(number(col, s)?).map_err(|_| (col, format!("'{s}' is out of range")))
}

/// Applies one statement to a setup.
fn statement(setup: &mut Setup, words: &[(usize, &str)]) -> Result<(), ColErr> {
    let (kcol, keyword) = words[0];
    let args = &words[1..];
    let want = |n: usize, usage: &str| {
        if args.len() == n {
            Ok(())
        } else {
            Err((kcol, format!("expected '{usage}'")))
        }
    };
    match keyword {
        "dram" => {
            want(1, "dram SIZE")?;
            setup.dram_bytes = number(args[0].0, args[0].1)?;
        }
        "pmem" => {
            want(3, "pmem NAME SIZE memmap=none|device")?;
            let (name, bytes) = (args[0].1, number(args[1].0, args[1].1)?);
            let memmap = match args[2].1 {
                "memmap=none" => DevMemmap::None,
                "memmap=device" => DevMemmap::OnDevice,
                other => {
                    return Err((
                        args[2].0,
                        format!("expected memmap=none or memmap=device, found '{other}'"),
                    ))
                }
            };
            if name == "dram" {
                return Err((args[0].0, "'dram' names the DRAM region".into()));
            }
            let spec = PmemSpec {
                name: name.to_owned(),
                bytes,
                memmap,
            };
            replace_or_push(&mut setup.pmem, spec, |p| &p.name);
        }
        "dma" => {
            want(2, "dma NAME BITS")?;
            let bits: u32 = narrow(args[1].0, args[1].1)?;
            if !(1..=64).contains(&bits) {
                return Err((args[1].0, "DMA mask bits must be 1 to 64".into()));
            }
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            let spec = DmaSpec {
                name: args[0].1.to_owned(),
                mask,
            };
            replace_or_push(&mut setup.dma, spec, |d| &d.name);
        }
        "bio" => {
            let Some(&(_, name)) = args.first() else {
                return Err((kcol, "expected 'bio NAME [options] SEG...'".into()));
            };
            let mut spec = BioSpec {
                name: name.to_owned(),
                segs: Vec::new(),
                sector: 0,
                rw: 0,
                max_vecs: None,
            };
            for &(col, word) in &args[1..] {
                if let Some(v) = word.strip_prefix("sector=") {
                    spec.sector = number(col, v)?;
                } else if let Some(v) = word.strip_prefix("rw=") {
                    spec.rw = match v {
                        "read" => 0,
                        "write" => 1,
                        _ => {
                            return Err((
                                col,
                                format!("expected rw=read or rw=write, found '{word}'"),
                            ))
                        }
                    };
                } else if let Some(v) = word.strip_prefix("vecs=") {
                    spec.max_vecs = Some(narrow(col, v)?);
                } else {
                    spec.segs.push(segment(setup, col, word)?);
                }
            }
            if spec.segs.is_empty() {
                return Err((kcol, format!("bio '{name}' has no segments")));
            }
            replace_or_push(&mut setup.bios, spec, |b| &b.name);
        }
        "request" => {
            let mut rq = RequestSpec {
                bios: Vec::new(),
                nr_phys_segments: 16,
            };
            for &(col, word) in args {
                if let Some(v) = word.strip_prefix("segments=") {
                    rq.nr_phys_segments = narrow(col, v)?;
                } else if setup.bios.iter().any(|b| b.name == word) {
                    rq.bios.push(word.to_owned());
                } else {
                    return Err((col, format!("no bio '{word}' above")));
                }
            }
            if rq.bios.is_empty() {
                return Err((kcol, "expected 'request BIO... [segments=N]'".into()));
            }
            setup.request = Some(rq);
        }
        "limits" => {
            let limits: &mut QueueLimits = &mut setup.limits;
            for &(col, word) in args {
                let (key, value) = word
                    .split_once('=')
                    .ok_or((col, format!("expected KEY=N, found '{word}'")))?;
                let vcol = col + key.len() + 1;
                match key {
                    "bounce_pfn" => limits.bounce_pfn = number(vcol, value)?,
                    "seg_boundary_mask" => limits.seg_boundary_mask = number(vcol, value)?,
                    "max_segment_size" => limits.max_segment_size = narrow(vcol, value)?,
                    "max_segments" => limits.max_segments = narrow(vcol, value)?,
                    _ => return Err((col, format!("unknown limit '{key}'"))),
                }
            }
        }
        _ => {
            return Err((
                kcol,
                format!(
                "unknown statement '{keyword}' (scenario, dram, pmem, dma, bio, request, limits)"
            ),
            ))
        }
    }
    Ok(())
}

fn replace_or_push<T>(list: &mut Vec<T>, item: T, name: impl Fn(&T) -> &String) {
    match list.iter().position(|x| name(x) == name(&item)) {
        Some(i) => list[i] = item,
        None => list.push(item),
    }
}

/// `REGION:PAGE[+OFFSET][/LEN]`.
fn segment(setup: &Setup, col: usize, word: &str) -> Result<SegSpec, ColErr> {
    let bad = || {
        (
            col,
            format!("expected a segment REGION:PAGE[+OFFSET][/LEN], found '{word}'"),
        )
    };
    let (region, rest) = word.split_once(':').ok_or_else(bad)?;
    if region != "dram" && !setup.pmem.iter().any(|p| p.name == region) {
        return Err((
            col,
            format!("no memory region '{region}' (dram, or a pmem above)"),
        ));
    }
    let (rest, len) = match rest.split_once('/') {
        Some((r, l)) => (r, Some(l)),
        None => (rest, None),
    };
    let (page, offset) = match rest.split_once('+') {
        Some((p, o)) => (p, Some(o)),
        None => (rest, None),
    };
    let page = number(col, page)?;
    let offset: u32 = offset.map_or(Ok(0), |o| narrow(col, o))?;
    if offset >= 4096 {
        return Err((col, format!("offset {offset} is not inside a page")));
    }
    let len: u32 = len.map_or(Ok(4096 - offset), |l| narrow(col, l))?;
    if len == 0 || offset + len > 4096 {
        return Err((
            col,
            format!("{word}: a segment is 1 to 4096 - OFFSET bytes"),
        ));
    }
    Ok(SegSpec {
        region: region.to_owned(),
        page,
        offset,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(text: &str, expected: &str) {
        let err = parse_scenarios("s", text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn shared_lines_apply_to_every_scenario_and_names_replace() {
        let s = parse_scenarios(
            "s",
            "dma hba 64\nlimits bounce_pfn=0x1003 max_segment_size=8K\n\
             scenario a\nbio x dram:1+512/100 dram:2\n\
             scenario b # comment\ndma hba 32\npmem p0 400G memmap=none\nbio x rw=write sector=9 p0:7\nrequest x segments=4\n",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].setup.dma[0].mask, u64::MAX);
        assert_eq!(s[1].setup.dma.len(), 1);
        assert_eq!(s[1].setup.dma[0].mask, 0xffff_ffff);
        assert_eq!(s[0].setup.limits.bounce_pfn, 0x1003);
        assert_eq!(s[1].setup.limits.max_segment_size, 8192);
        assert_eq!(
            s[0].setup.bios[0].segs,
            vec![
                SegSpec {
                    region: "dram".into(),
                    page: 1,
                    offset: 512,
                    len: 100
                },
                SegSpec {
                    region: "dram".into(),
                    page: 2,
                    offset: 0,
                    len: 4096
                }
            ]
        );
        let b = &s[1].setup;
        assert_eq!((b.bios[0].rw, b.bios[0].sector), (1, 9));
        assert_eq!(b.pmem[0].bytes, 400 << 30);
        assert!(b.uses_pageless_memory());
        assert!(!s[0].setup.uses_pageless_memory());
        assert_eq!(b.request.as_ref().unwrap().nr_phys_segments, 4);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        check_err(
            "scenario a\nbio x pmem0:1\n",
            "s:2:7: no memory region 'pmem0' (dram, or a pmem above)",
        );
        check_err(
            "scenario a\nbio x dram:1+4000/100\n",
            "s:2:7: dram:1+4000/100: a segment is 1 to 4096 - OFFSET bytes",
        );
        check_err("scenario a\nrequest y\n", "s:2:9: no bio 'y' above");
        check_err(
            "scenario a\nfrob\n",
            "s:2:1: unknown statement 'frob' (scenario, dram, pmem, dma, bio, request, limits)",
        );
        check_err(
            "dma x 64\n",
            "s:1:1: no scenario: add a line 'scenario NAME'",
        );
        check_err(
            "scenario a\nscenario a\n",
            "s:2:10: scenario 'a' is defined twice",
        );
        check_err(
            "scenario a\nlimits max_segments=0x1ffff\n",
            "s:2:21: '0x1ffff' is out of range",
        );
    }

    #[test]
    fn exit_codes_follow_grep() {
        let fixture = |problems: Vec<Problem>| FixtureReport {
            name: "f".into(),
            scenarios: 1,
            originals: Vec::new(),
            rewrite: String::new(),
            problems,
        };
        let mut report = Report {
            fixtures: vec![fixture(vec![])],
        };
        assert_eq!(report.exit_code(), 0);
        report.fixtures.push(fixture(vec![failed("x".into())]));
        assert_eq!(report.exit_code(), 1);
        report.fixtures.push(fixture(vec![broken("y".into())]));
        assert_eq!(report.exit_code(), 2);
        let text = report.render();
        assert!(text.contains("FAIL   f: 1 scenarios"), "{text}");
        assert!(text.contains("  - f: x"), "{text}");
        assert!(
            text.ends_with("3 fixtures, 3 scenarios: 1 passed, 1 failed, 1 broken\n"),
            "{text}"
        );
    }
}
