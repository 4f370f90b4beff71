//! The scenario language of `bvmig validate`: the worlds a fixture runs
//! in (memory, devices, bios, queue limits), one statement a line, shared
//! lines before the first `scenario` applying to every scenario. The format
//! is described in [`parse_scenarios`].

use bvmig_runtime::host::{BioSpec, DmaSpec, PmemSpec, RequestSpec, SegSpec, Setup};
use bvmig_runtime::memory::DevMemmap;
use bvmig_runtime::request::QueueLimits;

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
pub(super) fn words(line: &str) -> Vec<(usize, &str)> {
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

pub(super) type ColErr = (usize, String);

pub(super) fn number(col: usize, s: &str) -> Result<u64, ColErr> {
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

pub(super) fn narrow<T: TryFrom<u64>>(col: usize, s: &str) -> Result<T, ColErr> {
    T::try_from(number(col, s)?).map_err(|_| (col, format!("'{s}' is out of range")))
}

/// Applies one statement to a setup.
pub(super) fn statement(setup: &mut Setup, words: &[(usize, &str)]) -> Result<(), ColErr> {
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

pub(super) fn replace_or_push<T>(list: &mut Vec<T>, item: T, name: impl Fn(&T) -> &String) {
    match list.iter().position(|x| name(x) == name(&item)) {
        Some(i) => list[i] = item,
        None => list.push(item),
    }
}

/// `REGION:PAGE[+OFFSET][/LEN]`.
pub(super) fn segment(setup: &Setup, col: usize, word: &str) -> Result<SegSpec, ColErr> {
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
}
