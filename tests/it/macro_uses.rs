//! The uses of a header's macros across the files of a walk: on a whole
//! kernel tree every use is found (in any directory and in `include/`),
//! and a rewrite in a macro body is made only when it is right for all of
//! them; on part of a tree the uses outside it are unknown, and the sites
//! whose rewrite a use could break are left, saying so.

use crate::util::{bvmig, kernel_tree, TempDir};

/// A header with two macros whose bodies are lvalues: `BVM_GET()` is only
/// ever read, `BVM_PAGE()` is assigned to in `fs/` (outside
/// `drivers/foo`); `BVM_SET()`'s value is read in `include/`.
const FOO_H: &str = "\
#define BVM_GET(b) ((b)->bv_page)
#define BVM_PAGE(b) ((b)->bv_page)
#define BVM_SET(b, p) ((b)->bv_page = (p))
#define BVM_READ(b) bvm_read((b)->bv_page)
";

const FOO_C: &str = "\
#include \"foo.h\"

struct page *foo_get(struct bio_vec *bv, struct page *p)
{
\tBVM_SET(bv, p);
\treturn BVM_GET(bv) ? BVM_PAGE(bv) : BVM_READ(bv);
}
";

const FS_C: &str = "\
#include \"../drivers/foo/foo.h\"

void fs_set(struct bio_vec *bv, struct page *p)
{
\tBVM_PAGE(bv) = p;
\t(void)BVM_GET(bv);
}
";

const INCLUDE_H: &str = "\
static inline int bvm_set_and_test(struct bio_vec *bv, struct page *p)
{
\treturn BVM_SET(bv, p) != 0;
}
";

fn tree(t: &TempDir) -> std::path::PathBuf {
    let top = kernel_tree(t, "linux");
    t.write("linux/drivers/foo/foo.h", FOO_H);
    t.write("linux/drivers/foo/foo.c", FOO_C);
    t.write("linux/fs/bvm.c", FS_C);
    t.write("linux/include/linux/bvm_set.h", INCLUDE_H);
    top
}

/// The report's line for the site at `pos` of `drivers/foo/foo.h`.
fn left_at(stderr: &str, pos: &str) -> String {
    let head = format!("drivers/foo/foo.h:{pos}: ");
    stderr
        .lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no site left at {pos}:\n{stderr}"))
        .to_string()
}

#[test]
fn a_whole_tree_checks_every_use_in_every_directory_and_include() {
    let t = TempDir::new();
    let top = tree(&t);
    let out = bvmig(&top, &["patch", "."]);
    assert_eq!(out.code, 0, "{}", out.stderr_text());
    let (diff, report) = (out.stdout_text(), out.stderr_text());
    // Read everywhere: rewritten, with no note (the tree is whole).
    assert!(
        diff.contains("+#define BVM_GET(b) (bvec_page(b))"),
        "{diff}"
    );
    assert!(
        diff.contains("+#define BVM_READ(b) bvm_read(bvec_page(b))"),
        "{diff}"
    );
    assert!(!report.contains("note: drivers/foo"), "{report}");
    // The lvalue use in fs/ and the value read in include/ are found.
    assert!(
        left_at(&report, "2:27")
            .contains("BVM_PAGE() is used where an lvalue is needed (fs/bvm.c:5: "),
        "{report}"
    );
    assert!(
        left_at(&report, "3:29")
            .contains("the value of BVM_SET() is used (include/linux/bvm_set.h:3)"),
        "{report}"
    );
}

#[test]
fn part_of_a_tree_says_the_uses_outside_it_are_unknown() {
    let t = TempDir::new();
    let top = tree(&t);
    for args in [&["patch", "drivers/foo"][..], &["check", "drivers/foo"]] {
        let out = bvmig(&top, args);
        assert!(out.code == 0 || out.code == 1, "{}", out.stderr_text());
        let all = format!("{}{}", out.stdout_text(), out.stderr_text());
        // Right for the uses in drivers/foo, but fs/ is not walked: left,
        // and the report says why and how many uses were checked.
        let get = all
            .lines()
            .find(|l| l.starts_with("drivers/foo/foo.h:1:"))
            .unwrap_or_else(|| panic!("BVM_GET() is reported: {args:?}\n{all}"));
        assert!(
            get.contains(
                "BVM_GET() is defined in a header, and the walk is part of the kernel tree"
            ) && get.contains("(1 checked)")
                && get.contains("run on the whole tree"),
            "{get}"
        );
        // BVM_PAGE()'s lvalue use is in fs/, which this walk cannot see.
        assert!(
            all.lines()
                .any(|l| l.starts_with("drivers/foo/foo.h:2:")
                    && l.contains("part of the kernel tree")),
            "{all}"
        );
        // The tree's include/ is searched even though it is not walked.
        assert!(
            all.contains("the value of BVM_SET() is used (include/linux/bvm_set.h:3)"),
            "{all}"
        );
        // A read inside a call is right whatever the uses.
        if args[0] == "patch" {
            assert!(
                out.stdout_text()
                    .contains("+#define BVM_READ(b) bvm_read(bvec_page(b))"),
                "{all}"
            );
        }
    }
}

/// A header macro whose rewrite would call `bvec_page()`, expanded in
/// `fs/` where a local of that name is in scope (btrfs declares `u32
/// bvec_offset;` where `bio_for_each_segment()` expands
/// `mp_bvec_iter_offset()`): the site in the body is left, naming the
/// declaration; without that local, the body converts.
#[test]
fn a_macro_body_does_not_call_a_name_a_variable_of_the_walk_declares() {
    const BVM_H: &str = "#define BVM_PAGE(b) ((b)->bv_page)\n";
    const USER_C: &str = "\
#include <linux/bvm.h>

struct page *user(struct bio_vec *bv)
{
\tstruct page *bvec_page = BVM_PAGE(bv);

\treturn bvec_page;
}
";
    const PLAIN_C: &str = "\
#include <linux/bvm.h>

struct page *plain(struct bio_vec *bv)
{
\treturn BVM_PAGE(bv);
}
";
    for clash in [true, false] {
        let t = TempDir::new();
        let top = kernel_tree(&t, "linux");
        t.write("linux/include/linux/bvm.h", BVM_H);
        t.write("linux/drivers/plain.c", PLAIN_C);
        if clash {
            t.write("linux/fs/user.c", USER_C);
        }
        let out = bvmig(&top, &["patch", "."]);
        let (diff, report) = (out.stdout_text(), out.stderr_text());
        let converted = diff.contains("+#define BVM_PAGE(b) (bvec_page(b))");
        assert_eq!(converted, !clash, "{diff}\n{report}");
        if clash {
            let line = report
                .lines()
                .find(|l| l.starts_with("include/linux/bvm.h:1:"))
                .unwrap_or_else(|| panic!("the body's site is reported:\n{report}"));
            assert!(
                line.contains("the replacement calls bvec_page(), and 'bvec_page' is a local variable at fs/user.c:5"),
                "{line}"
            );
        }
    }
}
