//! `bvmig sparse`: the kernel's checker interface, so that `make C=1
//! CHECK="bvmig sparse"` checks every file the build compiles. kbuild runs
//! `$(CHECK) $(CHECKFLAGS) $(c_flags) file.c` (scripts/Makefile.build):
//! sparse's and gcc's flags, then the C file last. The flags bvmig needs are
//! read, every other one is accepted and ignored, since the set changes
//! with the architecture, the configuration and the compiler.
//!
//! Findings print as sparse prints its warnings, on stderr: `file:line:col:
//! warning: ...`, the column 1-based with tabs expanded (`-ftabstop`,
//! default 8), as gcc and sparse count it. The exit status is 0, as
//! sparse's, so that findings never stop a build, unless `-Wsparse-error`
//! asks for 1; an error (an unreadable file, a bad rule) is 2.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::output;
use crate::check::report::{self, SparseStyle};
use crate::check::run::{self, CheckOptions};
use crate::engine::choice;
use crate::engine::walk::WalkOptions;

pub(super) const EXAMPLES: &str = "Examples:
  make C=1 CHECK=\"bvmig sparse\"             # the files the build compiles
  make C=2 CHECK=\"bvmig sparse\" block/      # every file of block/
  make C=1 CHECK=\"bvmig sparse --rule my.cocci\" CF=-Wsparse-error

Options of bvmig come first: --rule FILE, --no-cache. Then sparse's and
gcc's flags, as kbuild passes them; -fdiagnostic-prefix[=NAME],
-ftabstop=N and -Wsparse-error are honoured, the rest ignored. Exit status:
0 (1 with -Wsparse-error when something is found), 2 on errors.";

#[derive(Debug, clap::Args)]
pub(super) struct SparseArgs {
    /// bvmig's options, then the checker's arguments as kbuild passes them,
    /// the C file last.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

/// What bvmig takes from a checker's command line.
#[derive(Debug, Default, PartialEq, Eq)]
struct Checker {
    /// The C files (kbuild passes one, last).
    files: Vec<PathBuf>,
    /// `--rule FILE`.
    rule: Option<PathBuf>,
    /// `--no-cache`: scan the tree's headers on every run.
    no_cache: bool,
    /// `-fdiagnostic-prefix[=NAME]`: `sparse` when no name is given.
    prefix: Option<String>,
    /// `-ftabstop=N`.
    tabstop: usize,
    /// `-Wsparse-error`: findings make the exit status 1.
    as_errors: bool,
}

/// gcc's and sparse's flags that take their value as the next argument.
const WITH_VALUE: &[&str] = &[
    "-include",
    "-imacros",
    "-isystem",
    "-idirafter",
    "-iquote",
    "-iprefix",
    "-I",
    "-D",
    "-U",
    "-o",
    "-x",
    "-MF",
    "-MT",
    "-MQ",
    "--arch",
    "--os",
];

fn parse(args: &[OsString]) -> Result<Checker, String> {
    let mut c = Checker {
        tabstop: 8,
        ..Checker::default()
    };
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        let Some(a) = arg.to_str() else {
            // Only a file name may be other than UTF-8.
            c.files.push(PathBuf::from(arg));
            continue;
        };
        match a {
            "--rule" => {
                let v = it.next().ok_or("--rule needs a rule file")?;
                c.rule = Some(PathBuf::from(v));
            }
            "--no-cache" => c.no_cache = true,
            "-Wsparse-error" => c.as_errors = true,
            "-fdiagnostic-prefix" => c.prefix = Some("sparse".to_string()),
            _ if WITH_VALUE.contains(&a) => {
                it.next();
            }
            _ => {
                if let Some(v) = a.strip_prefix("--rule=") {
                    c.rule = Some(PathBuf::from(v));
                } else if let Some(v) = a.strip_prefix("-fdiagnostic-prefix=") {
                    c.prefix = Some(v.to_string());
                } else if let Some(v) = a.strip_prefix("-ftabstop=") {
                    c.tabstop = v
                        .parse()
                        .ok()
                        .filter(|&n| (1..=100).contains(&n))
                        .ok_or_else(|| format!("-ftabstop={v}: not a width from 1 to 100"))?;
                } else if !a.starts_with('-') || a == "-" {
                    c.files.push(PathBuf::from(a));
                }
            }
        }
    }
    if c.files.is_empty() {
        return Err("no C file given; kbuild passes it last".to_string());
    }
    Ok(c)
}

pub(super) fn run(args: SparseArgs) -> ExitCode {
    let checker = match parse(&args.args) {
        Ok(c) => c,
        Err(e) => return output::finish(&[e], 0),
    };
    // kbuild passes one source file; a directory would be walked whole.
    for f in &checker.files {
        if let Ok(m) = std::fs::metadata(f) {
            if !m.is_file() {
                let kind = crate::file::kind_name(m.file_type());
                let e = format!("{}: not a regular file but {kind}", f.display());
                return output::finish(&[e], 0);
            }
        }
    }
    let opts = CheckOptions {
        paths: checker.files.clone(),
        rule: checker.rule.clone(),
        // Sparse's -D defines C macros, not virtual rules.
        defines: Vec::new(),
        walk: WalkOptions {
            threads: 1,
            standard_filters: false,
            only: None,
            globs: Vec::new(),
        },
        since: None,
        cached: false,
        baseline: None,
        with_function: false,
        fix: false,
        definitions_cache: (!checker.no_cache)
            .then(choice::definitions_cache_dir)
            .flatten(),
    };
    let checked = match run::run(&opts, &crate::progress::Silent) {
        Ok(c) => c,
        Err(e) => return output::finish(&[e.to_string()], 0),
    };
    let style = SparseStyle {
        prefix: checker.prefix.clone(),
        tabstop: checker.tabstop,
        as_errors: checker.as_errors,
    };
    let mut out = Vec::new();
    let _ = report::sparse(&mut out, &checked.findings, &style);
    let _ = io::stderr().lock().write_all(&out);
    let errors: Vec<String> = checked.errors.iter().map(ToString::to_string).collect();
    if !errors.is_empty() {
        return output::finish(&errors, 0);
    }
    if checker.as_errors && !checked.findings.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The arguments `make C=2 CHECK=bvmig\ sparse block/bio.o` passes on a
    /// defconfig x86_64 build of Linux 6.12 (captured with a script that
    /// printed its argv), after `sparse`.
    const KBUILD_ARGV: &str = "-D__linux__ -Dlinux -D__STDC__ -Dunix -D__unix__ -Wbitwise \
-Wno-return-void -Wno-unknown-attribute -D__x86_64__ --arch=x86 -mlittle-endian -m64 \
-Wp,-MMD,block/.bio.o.d -nostdinc -I./arch/x86/include -I./arch/x86/include/generated \
-I./include -I./arch/x86/include/uapi -I./arch/x86/include/generated/uapi -I./include/uapi \
-I./include/generated/uapi -include ./include/linux/compiler-version.h -include \
./include/linux/kconfig.h -include ./include/linux/compiler_types.h -D__KERNEL__ \
-fmacro-prefix-map=./= -Werror -std=gnu11 -fshort-wchar -funsigned-char -fno-common -fno-PIE \
-fno-strict-aliasing -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx -fcf-protection=branch \
-fno-jump-tables -m64 -falign-jumps=1 -falign-loops=1 -mno-80387 -mno-fp-ret-in-387 \
-mpreferred-stack-boundary=3 -mskip-rax-setup -mtune=generic -mno-red-zone -mcmodel=kernel \
-Wno-sign-compare -fno-asynchronous-unwind-tables -mindirect-branch=thunk-extern \
-mindirect-branch-register -mindirect-branch-cs-prefix -mfunction-return=thunk-extern \
-fno-jump-tables -fpatchable-function-entry=16,16 -fno-delete-null-pointer-checks -O2 \
-fno-allow-store-data-races -fstack-protector-strong -fomit-frame-pointer \
-ftrivial-auto-var-init=zero -fno-stack-clash-protection -falign-functions=16 \
-fno-strict-overflow -fno-stack-check -fconserve-stack -fno-builtin-wcslen -fno-builtin-wcslen \
-Wall -Wextra -Wundef -Werror=implicit-function-declaration -Werror=implicit-int \
-Werror=return-type -Werror=strict-prototypes -Wno-format-security -Wno-trigraphs \
-Wno-frame-address -Wno-address-of-packed-member -Wmissing-declarations -Wmissing-prototypes \
-Wframe-larger-than=2048 -Wno-main -Wno-dangling-pointer -Wvla -Wno-pointer-sign \
-Wcast-function-type -Wno-array-bounds -Wno-stringop-overflow -Wno-alloc-size-larger-than \
-Wimplicit-fallthrough=5 -Werror=date-time -Werror=incompatible-pointer-types \
-Werror=designated-init -Wenum-conversion -Wunused -Wno-unused-but-set-variable \
-Wno-unused-const-variable -Wno-packed-not-aligned -Wno-format-overflow \
-Wno-format-truncation -Wno-stringop-truncation -Wno-override-init \
-Wno-missing-field-initializers -Wno-type-limits -Wno-shift-negative-value \
-Wno-maybe-uninitialized -Wno-sign-compare -Wno-unused-parameter \
-DKBUILD_MODFILE=\"block/bio\" -DKBUILD_BASENAME=\"bio\" -DKBUILD_MODNAME=\"bio\" \
-D__KBUILD_MODNAME=kmod_bio block/bio.c";

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_argument_vector_kbuild_passes_names_one_file() {
        let c = parse(&args(KBUILD_ARGV)).unwrap();
        assert_eq!(c.files, vec![PathBuf::from("block/bio.c")]);
        assert_eq!(
            (c.prefix, c.tabstop, c.as_errors, c.rule),
            (None, 8, false, None)
        );
        // Extra words of CHECK come first, CF after the fixed CHECKFLAGS.
        let with = format!("--rule my.cocci -D__linux__ -Wno-unknown-attribute -fdiagnostic-prefix -Wsparse-error -ftabstop=4 {KBUILD_ARGV}");
        let c = parse(&args(&with)).unwrap();
        assert_eq!(c.rule, Some(PathBuf::from("my.cocci")));
        assert_eq!(
            (c.prefix.as_deref(), c.tabstop, c.as_errors),
            (Some("sparse"), 4, true)
        );
        assert_eq!(c.files, vec![PathBuf::from("block/bio.c")]);
        // `-include FILE` and friends take their value along.
        let c = parse(&args(
            "-include x.h -D FOO -o out.o -fdiagnostic-prefix=bvmig a.c",
        ))
        .unwrap();
        assert_eq!(c.files, vec![PathBuf::from("a.c")]);
        assert_eq!(c.prefix.as_deref(), Some("bvmig"));
        assert_eq!(
            parse(&args("-D__linux__ -m64")).unwrap_err(),
            "no C file given; kbuild passes it last"
        );
        assert_eq!(
            parse(&args("-ftabstop=0 a.c")).unwrap_err(),
            "-ftabstop=0: not a width from 1 to 100"
        );
    }
}
