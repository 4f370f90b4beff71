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
//! **The bv_phys layout.** A fourth version, *phys*, takes the converted
//! one on to today's endpoint: the rule files of [`PHYS_RULES`], read by
//! name from the `rules/` directory beside the fixtures (or
//! [`Options::rules`]), route `bv_offset` through `bvec_page_offset()` and
//! `bvec_set_offset()`, and `rules/bv_phys.cocci` (built in) gives `struct
//! bio_vec` a `phys_addr_t bv_phys` and no `bv_offset`. It is compiled with
//! `-DBVMIG_LAYOUT_PHYS` and runs on the world as described, page-less
//! memory included, like the final version, unless it still calls
//! `bvec_page()`: the bv_phys step moves no use off the page (Linux has no
//! page-less kmap to move it to), so such code runs where page-less memory
//! is DRAM, as the `bv_page` layouts do, and the fixture's line says so.
//! Fixtures written against the helpers (`bvec_kmap_local()`,
//! `bvec_phys()`, `dma_map_phys()`) run on page-less memory in this
//! layout. When a rule file of
//! [`PHYS_RULES`] is missing, no fixture can compile in that layout (every
//! one names `bv_offset`), so the phys version is skipped for every fixture
//! and [`Report::notes`] says why; it runs as soon as the file exists.
//!
//! The scenario format is described in [`parse_scenarios`] (`scenario`);
//! `compare` finds the first difference between two runs, and `report`
//! holds what was found and renders it.

mod compare;
mod report;
mod scenario;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bvmig_runtime::ffi::Layout;
use bvmig_runtime::host::{run_isolated, Compiler, HostError, Memory, Object, Outcome};
use bvmig_runtime::observe::Observation;

use crate::engine::site::Status;
use crate::engine::Engine;
use crate::file::IoError;
use crate::smpl::{RuleError, RuleFile, Virtuals};

use compare::{describe_end, first_difference, pageless_page};
use report::{broken, failed};

pub use report::{FixtureReport, Problem, Report, ScenarioReport, Severity};
pub use scenario::{parse_scenarios, Scenario, ScenarioError};

/// The rule that moves page-free uses of `bvec_page()` to the pfn API.
pub const BV_PFN_API_RULE: &str = include_str!("../../rules/bv_pfn-api.cocci");
/// The name under which [`BV_PFN_API_RULE`] is reported.
pub const BV_PFN_API_RULE_NAME: &str = "rules/bv_pfn-api.cocci (built in)";
/// The rule that gives `struct bio_vec` a `bv_pfn` (the member, the
/// helpers' bodies, designated initializers).
pub const BV_PFN_RULE: &str = include_str!("../../rules/bv_pfn.cocci");
/// The name under which [`BV_PFN_RULE`] is reported.
pub const BV_PFN_RULE_NAME: &str = "rules/bv_pfn.cocci (built in)";

/// The rule that gives `struct bio_vec` a `bv_phys` (the members, the
/// helpers' bodies, designated initializers).
pub const BV_PHYS_RULE: &str = include_str!("../../rules/bv_phys.cocci");
/// The name under which [`BV_PHYS_RULE`] is reported.
pub const BV_PHYS_RULE_NAME: &str = "rules/bv_phys.cocci (built in)";
/// The rule files the phys version runs, by name and in order, on the
/// converted version before [`BV_PHYS_RULE`]: the `bv_offset` step, which
/// routes `bv_offset` through `bvec_page_offset()` and `bvec_set_offset()`.
pub const PHYS_RULES: &[&str] = &["bv_offset.cocci"];

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
    /// Use this text as the final (`bv_pfn`) version of the named fixture
    /// instead of the pfn rules' output (to test the harness in that
    /// layout).
    pub pfn: BTreeMap<String, Vec<u8>>,
    /// Use this text as the phys version of the named fixture instead of
    /// the rules' output (to test the harness in the `bv_phys` layout
    /// whether or not the rule files of [`PHYS_RULES`] exist).
    pub phys: BTreeMap<String, Vec<u8>>,
    /// Where the rule files of [`PHYS_RULES`] are (default: the first
    /// `rules/` directory holding them above the fixtures directory).
    pub rules: Option<PathBuf>,
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
            pfn: BTreeMap::new(),
            phys: BTreeMap::new(),
            rules: None,
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
    /// After the bv_offset and bv_phys rules, in the `bv_phys` layout.
    Phys,
}

impl Version {
    fn name(self) -> &'static str {
        match self {
            Version::Original => "original",
            Version::Converted => "converted",
            Version::Final => "final",
            Version::Phys => "phys",
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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
    let phys_steps = phys_steps(dir, opts)?;
    let mut notes = Vec::new();
    if let Err(why) = &phys_steps {
        notes.push(format!("phys layout skipped: {why}"));
    }
    let ctx = Ctx {
        bv_page: Engine::new(RuleFile::default_rule()),
        phys_steps,
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
    Ok(Report { fixtures, notes })
}

/// The engines of the phys version: the rule files of [`PHYS_RULES`], then
/// [`BV_PHYS_RULE`]; or why they are missing.
fn phys_steps(dir: &Path, opts: &Options) -> Result<Result<Vec<Engine>, String>, Error> {
    let rules_dir = match &opts.rules {
        Some(d) => Some(d.clone()),
        None => dir
            .ancestors()
            .map(|a| a.join("rules"))
            .find(|r| PHYS_RULES.iter().all(|f| r.join(f).is_file())),
    };
    let mut engines = Vec::new();
    for name in PHYS_RULES {
        let path = match &rules_dir {
            Some(d) if d.join(name).is_file() => d.join(name),
            Some(d) => {
                return Ok(Err(format!(
                    "{} not found (the bv_offset step; fixtures name bv_offset, which the bv_phys layout lacks)",
                    d.join(name).display()
                )))
            }
            None => {
                return Ok(Err(format!(
                    "no rules/{name} above {} (the bv_offset step; fixtures name bv_offset, which the bv_phys layout lacks)",
                    dir.display()
                )))
            }
        };
        let text = crate::file::read(&path).map_err(IoError::at(&path))?;
        let rule = RuleFile::from_bytes(&path.display().to_string(), text, &Virtuals::default())?;
        engines.push(Engine::new(rule));
    }
    engines.push(Engine::new(RuleFile::parse(
        BV_PHYS_RULE_NAME,
        BV_PHYS_RULE,
    )?));
    Ok(Ok(engines))
}

struct Ctx<'a> {
    bv_page: Engine,
    phys_steps: Result<Vec<Engine>, String>,
    bv_pfn_api: Engine,
    bv_pfn: Engine,
    cc: Compiler,
    include: PathBuf,
    work: PathBuf,
    opts: &'a Options,
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
            crate::file::read(&path).map_err(IoError::at(&path))
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
        let final_text = match self.opts.pfn.get(name) {
            Some(text) => text.clone(),
            None => self
                .bv_pfn
                .rewrite(&moved_text)
                .new_text
                .unwrap_or_else(|| moved_text.clone()),
        };
        let count =
            |text: &[u8], what: &[u8]| text.windows(what.len()).filter(|w| *w == what).count();
        let moved =
            count(&final_text, b"bvec_pfn(").saturating_sub(count(&converted, b"bvec_pfn("));
        let _ = write!(rewrite, "; bv_pfn: {moved} bvec_pfn() calls added");
        let n_inits = count(&final_text, b".bv_pfn = ");
        if n_inits > 0 {
            let _ = write!(rewrite, ", {n_inits} .bv_pfn initializers");
        }

        // The phys version: given, or the converted one through the
        // bv_offset and bv_phys steps, or none when a step is missing.
        let phys_text = match (self.opts.phys.get(name), &self.phys_steps) {
            (Some(text), _) => {
                rewrite.push_str("; bv_phys: given, not rewritten");
                Some(text.clone())
            }
            (None, Ok(engines)) => {
                let mut text = converted.clone();
                for engine in engines {
                    if let Some(new) = engine.rewrite(&text).new_text {
                        text = new;
                    }
                }
                let n_inits = count(&text, b".bv_phys = ");
                let _ = write!(rewrite, "; bv_phys: {n_inits} .bv_phys initializers");
                Some(text)
            }
            (None, Err(_)) => {
                rewrite.push_str("; bv_phys: skipped");
                None
            }
        };
        report.rewrite = rewrite;

        // Build the versions.
        let mut versions = vec![
            (Version::Original, Layout::Page, &original),
            (Version::Converted, Layout::Page, &converted),
            (Version::Final, Layout::Pfn, &final_text),
        ];
        if let Some(text) = &phys_text {
            versions.push((Version::Phys, Layout::Phys, text));
        }
        // Code that still asks for a page runs where every address has one
        // (see the module documentation).
        let phys_pages = phys_text
            .as_ref()
            .map_or(0, |text| count(text, b"bvec_page("));
        if phys_pages > 0 && scenarios.iter().any(|s| s.setup.uses_pageless_memory()) {
            let _ = write!(
                report.rewrite,
                " (page-less memory as DRAM: {phys_pages} bvec_page() calls left)"
            );
        }
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
            let (original, problem) = self.scenario(scenario, &objects, phys_pages > 0);
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
        phys_needs_pages: bool,
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
                Layout::Phys if phys_needs_pages => page_memory,
                Layout::Pfn | Layout::Phys => Memory::AsDescribed,
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
