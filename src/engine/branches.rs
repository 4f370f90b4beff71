//! A file whose code is split by conditional directives, one configuration
//! at a time. When a site is left in an item (a function, a declaration)
//! that does not parse and holds `#if`/`#ifdef`/`#else` lines, each
//! configuration of those groups (`c::conditional`: one branch kept, the
//! rest and the directive lines blanked, offsets kept) goes through the
//! whole pipeline, and the outcomes are merged site by site:
//!
//! - a site is rewritten only when every configuration that holds it
//!   rewrites it, each with the same edits;
//! - an edit is made only when every configuration that holds its bytes
//!   made it, rendered from bytes the configuration did not blank;
//! - a site left in some configuration is left with the reason, naming the
//!   configuration ("in the `#else` branch of `#ifdef X` at line 4: ...");
//! - the result is verified in every configuration: none parses worse.
//!
//! At most [`MAX_CONFIGURATIONS`] are tried; beyond, the sites stay as the
//! whole file left them, their reason saying so.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use super::site::{Kind, Site, Status};
use super::{apply, masked, Engine, FileOutcome};
use crate::c::conditional::{self, Configuration, Configurations, Group};
use crate::c::parsed::Blanked;
use crate::c::source::{self, LineIndex, Span};
use crate::c::syntax;
use crate::engine::matcher::Edit;

/// The most configurations a file is rewritten in (four `#ifdef`s).
pub const MAX_CONFIGURATIONS: usize = 16;

/// The outcome of `text` given `whole`, its outcome as one text: the same
/// when no site is left in an item that conditional directives split,
/// else the merge of its configurations' outcomes.
pub(super) fn refine(
    engine: &Engine,
    text: &[u8],
    dir: Option<&Path>,
    elsewhere: Option<&std::sync::Arc<super::macro_uses::Elsewhere>>,
    whole: FileOutcome,
) -> FileOutcome {
    if whole.error.is_some() || whole.sites.iter().all(|s| s.status == Status::Rewritten) {
        return whole;
    }
    let groups = conditional::groups(text);
    if groups.is_empty() {
        return whole;
    }
    let left: Vec<usize> = whole
        .sites
        .iter()
        .filter(|s| s.status != Status::Rewritten)
        .map(|s| s.offset)
        .collect();
    let spans = broken_spans(text, &whole, &left);
    // The lexer's items, when it finds them: a conditional between items
    // (around whole functions) splits no statement, even when tree-sitter
    // read it into an ERROR with the function that does not parse.
    let items: Option<Vec<Range<usize>>> = source::top_level(text).map(|spans| {
        spans
            .into_iter()
            .filter(|(kind, _)| *kind == Span::Item)
            .map(|(_, r)| r)
            .collect()
    });
    let in_item = |o: usize| {
        items
            .as_ref()
            .is_none_or(|items| items.iter().any(|r| r.contains(&o)))
    };
    let chosen: Vec<&Group> = groups
        .iter()
        .filter(|g| {
            g.directives.iter().any(|d| {
                let o = d.range.start;
                in_item(o) && spans.iter().any(|s| s.contains(&o))
            })
        })
        .collect();
    if chosen.is_empty() {
        return whole;
    }
    let confs = Configurations::new(chosen);
    if confs.count() > MAX_CONFIGURATIONS {
        return too_many(whole, &spans, confs.count());
    }
    let lines = LineIndex::new(text);
    let mut runs: Vec<Run> = Vec::new();
    for c in confs.all() {
        let ctext = confs.text(text, &c);
        // Nested groups: configurations that differ only in a blanked
        // branch read the same text.
        if runs.iter().any(|r| r.text == ctext) {
            continue;
        }
        let out = engine.rewrite_once(&ctext, dir, elsewhere);
        if out.error.is_some() {
            return whole;
        }
        runs.push(Run {
            conf: c,
            text: ctext,
            out,
        });
    }
    // Messages name the groups of the site's item.
    let near: Vec<Range<usize>> = match &items {
        Some(items) => items
            .iter()
            .filter(|r| spans.iter().any(|s| s.start < r.end && r.start < s.end))
            .cloned()
            .collect(),
        None => spans.clone(),
    };
    let ctx = Context {
        text,
        lines: &lines,
        spans: &near,
        confs: &confs,
    };
    merge(&ctx, whole, &runs)
}

/// One configuration's text and outcome.
struct Run {
    conf: Configuration,
    text: Vec<u8>,
    out: FileOutcome,
}

impl Run {
    /// True when this configuration holds the bytes `r` as the file has
    /// them (none blanked).
    fn holds(&self, text: &[u8], r: &Range<usize>) -> bool {
        self.text[r.start..r.end.max(r.start + 1).min(text.len())]
            == text[r.start..r.end.max(r.start + 1).min(text.len())]
    }

    fn site(&self, offset: usize) -> Option<&Site> {
        let i = self.out.sites.partition_point(|s| s.offset < offset);
        self.out.sites.get(i).filter(|s| s.offset == offset)
    }

    /// This configuration's edits that cover `offset`.
    fn edits_at(&self, offset: usize) -> impl Iterator<Item = &Edit> {
        self.out
            .edits
            .iter()
            .filter(move |e| e.range.start <= offset && offset < e.range.end)
    }
}

/// The top-level items (children of the file or of a conditional at file
/// level) that hold an ERROR or MISSING node, with the items next to them
/// that do too merged, and kept when they hold one of the offsets `left`.
fn broken_spans(text: &[u8], whole: &FileOutcome, left: &[usize]) -> Vec<Range<usize>> {
    let all: Vec<usize> = whole.sites.iter().map(|s| s.offset).collect();
    let Blanked { text: blanked, .. } = masked(text, &all);
    let tree = syntax::parse(&blanked);
    let mut items: Vec<Option<(Range<usize>, bool)>> = Vec::new();
    collect_items(tree.root_node(), &mut items);
    let mut spans: Vec<Range<usize>> = Vec::new();
    let mut joining = false;
    // Broken items next to each other (error recovery may cut one item in
    // pieces) are one span; not across a conditional's edge (`None`).
    for item in items {
        let Some((r, true)) = item else {
            joining = false;
            continue;
        };
        match spans.last_mut() {
            Some(last) if joining => last.end = last.end.max(r.end),
            _ => spans.push(r),
        }
        joining = true;
    }
    spans.retain(|s| left.iter().any(|o| s.contains(o)));
    spans
}

fn collect_items(node: tree_sitter::Node, out: &mut Vec<Option<(Range<usize>, bool)>>) {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif"
            | "preproc_elifdef"
                if !child.is_error() =>
            {
                out.push(None);
                collect_items(child, out);
                out.push(None);
            }
            "comment" => {}
            _ if child.is_named() || child.is_error() || child.is_missing() => out.push(Some((
                child.byte_range(),
                child.has_error() || child.is_error() || child.is_missing(),
            ))),
            _ => {}
        }
    }
}

/// `whole` with the reason of each site left unparsed in `spans` saying
/// why configurations were not tried.
fn too_many(mut whole: FileOutcome, spans: &[Range<usize>], n: usize) -> FileOutcome {
    for s in &mut whole.sites {
        if s.kind == Kind::Unparsed && spans.iter().any(|r| r.contains(&s.offset)) {
            if let Status::Left(why) = &mut s.status {
                why.push_str(&format!(
                    " (conditional directives split it into {n} configurations; bvmig tries at most {MAX_CONFIGURATIONS})"
                ));
            }
        }
    }
    whole
}

/// What the merge reads besides the outcomes.
struct Context<'a> {
    text: &'a [u8],
    lines: &'a LineIndex,
    /// The items whose groups are configured, to name the groups near a
    /// site.
    spans: &'a [Range<usize>],
    confs: &'a Configurations<'a>,
}

impl Context<'_> {
    /// Configuration `r` in a message about the site at `offset`.
    fn describe(&self, r: &Run, offset: usize) -> String {
        let all = 0..self.text.len();
        let near = self
            .spans
            .iter()
            .find(|s| s.contains(&offset))
            .unwrap_or(&all);
        self.confs.describe(&r.conf, self.lines, near)
    }
}

/// The merge of the configurations' outcomes (see the module's comment).
fn merge(ctx: &Context, whole: FileOutcome, runs: &[Run]) -> FileOutcome {
    let text = ctx.text;
    // Edits every configuration holding their bytes made.
    let mut accepted: Vec<Edit> = Vec::new();
    for r in runs {
        for e in &r.out.edits {
            if accepted.contains(e) {
                continue;
            }
            let agreed = runs.iter().all(|o| {
                let made = o.out.edits.contains(e);
                let holds = o.holds(text, &e.range);
                made == holds
            });
            if agreed {
                accepted.push(e.clone());
            }
        }
    }
    // Sites, until no accepted edit covers a site left somewhere.
    let mut sites;
    loop {
        sites = whole
            .sites
            .iter()
            .map(|s| merged_site(ctx, s, runs, &accepted))
            .collect::<Vec<Site>>();
        let left: HashSet<usize> = sites
            .iter()
            .filter(|s| s.status != Status::Rewritten)
            .map(|s| s.offset)
            .collect();
        let before = accepted.len();
        accepted.retain(|e| !left.iter().any(|o| e.range.contains(o)));
        if accepted.len() == before {
            break;
        }
    }
    accepted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut excluded: Vec<Range<usize>> = runs
        .iter()
        .flat_map(|r| r.out.excluded.iter().cloned())
        .collect();
    excluded.sort_by_key(|r| (r.start, r.end));
    excluded.dedup();
    let mut out = FileOutcome {
        sites,
        new_text: None,
        edits: Vec::new(),
        excluded,
        error: None,
    };
    if accepted.is_empty() {
        return out;
    }
    let why = if accepted
        .windows(2)
        .any(|w| w[0].range.end > w[1].range.start)
    {
        "configurations made overlapping edits here; the file is left unchanged"
    } else {
        let new = apply(text, &accepted);
        if parses_as_well(text, &new, &accepted, runs, ctx.confs) {
            out.new_text = Some(new);
            out.edits = accepted;
            return out;
        }
        "the rewritten file parses with more errors than the original in a configuration of its conditional directives; the file is left unchanged"
    };
    for s in out.sites.iter_mut() {
        if s.status == Status::Rewritten {
            s.status = Status::Left(why.to_string());
        }
    }
    out
}

/// Site `s` of the whole file as the configurations that hold it see it.
fn merged_site(ctx: &Context, s: &Site, runs: &[Run], accepted: &[Edit]) -> Site {
    let text = ctx.text;
    let name = s.offset..s.offset + 1;
    let holding: Vec<&Run> = runs.iter().filter(|r| r.holds(text, &name)).collect();
    if holding.is_empty() {
        // In a directive line the configurations blank: as the whole file
        // saw it.
        return s.clone();
    }
    let mut first: Option<&Site> = None;
    let mut reasons: Vec<(&Run, &Site, String)> = Vec::new();
    let mut differ: Vec<(&Run, &Site, String)> = Vec::new();
    for r in &holding {
        let Some(cs) = r.site(s.offset) else {
            let mut left = s.clone();
            left.status = Status::Left(format!(
                "in {}: not code in this configuration",
                ctx.describe(r, s.offset)
            ));
            return left;
        };
        first.get_or_insert(cs);
        match &cs.status {
            Status::Rewritten if r.edits_at(s.offset).all(|e| accepted.contains(e)) => {}
            Status::Rewritten => differ.push((
                r,
                cs,
                "the configurations rewrite it differently".to_string(),
            )),
            Status::Left(why) => reasons.push((r, cs, why.clone())),
        }
    }
    // Where one configuration leaves it, that is why the others' edits
    // were not made.
    reasons.append(&mut differ);
    let first = first.expect("a configuration holds the site");
    let Some((run, cs, why)) = reasons.first() else {
        return first.clone();
    };
    let mut site = (*cs).clone();
    // One reason in every configuration is the reason: it does not depend
    // on the branches.
    let same = reasons.len() == holding.len() && reasons.iter().all(|(_, _, w)| w == why);
    site.status = Status::Left(if same {
        why.clone()
    } else {
        format!("in {}: {why}", ctx.describe(run, s.offset))
    });
    site.evidence = None;
    site
}

/// True when, as a whole and in every configuration, `new` parses with no
/// more ERROR and MISSING nodes than `old`, and each `#define` body an
/// edit changed that parsed still does.
fn parses_as_well(
    old: &[u8],
    new: &[u8],
    edits: &[Edit],
    runs: &[Run],
    confs: &Configurations,
) -> bool {
    // The edits leave directive lines alone: the new text's groups are
    // the old ones, moved.
    let old_groups = conditional::groups(old);
    let new_groups = conditional::groups(new);
    if old_groups.len() != new_groups.len() {
        return false;
    }
    let index = |g: &Group| old_groups.iter().position(|o| o == g);
    let chosen_new: Option<Vec<&Group>> = confs
        .groups()
        .iter()
        .map(|g| index(g).map(|i| &new_groups[i]))
        .collect();
    let Some(chosen_new) = chosen_new else {
        return false;
    };
    let new_confs = Configurations::new(chosen_new);
    let errors = |t: &[u8]| {
        let Blanked { text, .. } = Blanked::new(t);
        syntax::error_count(syntax::parse(&text).root_node())
    };
    // The whole file as tree-sitter reads it (what the rule choice, the
    // helpers' placement and the next run see) is no worse either: a
    // rewrite may shift its error recovery onto other code, a helper's
    // definition say.
    if errors(new) > errors(old) {
        return false;
    }
    let configs_ok = runs.iter().all(|r| {
        let (old_c, new_c) = (&r.text, new_confs.text(new, &r.conf));
        errors(&new_c) <= errors(old_c)
    });
    let bodies_ok = Blanked::new(old).defines.iter().all(|d| {
        let inside: Vec<Edit> = edits
            .iter()
            .filter(|e| d.body.contains(&e.range.start))
            .map(|e| Edit {
                range: e.range.start - d.body.start..e.range.end - d.body.start,
                ..e.clone()
            })
            .collect();
        let body = &old[d.body.clone()];
        inside.is_empty()
            || syntax::parse_macro_body(body).is_none()
            || syntax::parse_macro_body(&apply(body, &inside)).is_some()
    });
    configs_ok && bodies_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smpl::RuleFile;

    fn run(text: &str) -> (String, Vec<(usize, String)>) {
        let out = Engine::new(RuleFile::default_rule()).rewrite(text.as_bytes());
        let new = out.new_text.unwrap_or_else(|| text.as_bytes().to_vec());
        let left = out
            .sites
            .iter()
            .filter_map(|s| match &s.status {
                Status::Left(why) => Some((s.line, why.clone())),
                Status::Rewritten => None,
            })
            .collect();
        (String::from_utf8(new).unwrap(), left)
    }

    #[test]
    fn each_branch_of_a_split_head_converts() {
        let (new, left) = run("\
int f(struct bio_vec *a, struct bio_vec *b)
{
#if defined(X) && Y > 1
\tif (a->bv_page)
#elif Z
\tif (b->bv_page)
#else
\twhile (b->bv_page)
#endif
\t\treturn g(1,
#ifndef W
\t\t\t b->bv_page,
#endif
\t\t\t 2);
\treturn 0;
}
");
        assert!(left.is_empty(), "{left:?}");
        assert!(new.contains("\tif (bvec_page(a))\n"), "{new}");
        assert!(new.contains("\tif (bvec_page(b))\n"), "{new}");
        assert!(new.contains("\twhile (bvec_page(b))\n"), "{new}");
        assert!(new.contains("\t\t\t bvec_page(b),\n"), "{new}");
    }

    #[test]
    fn split_function_headers_conditions_and_cases_convert() {
        let (new, left) = run("\
#ifdef CONFIG_X
static int f(struct bio_vec *bv, int x)
#else
static int f(struct bio_vec *bv)
#endif
{
\treturn g(bv->bv_page);
}

static int h(struct bio_vec *bv, int x, int y)
{
\tif (bv->bv_page &&
#ifdef X
\t    x &&
#endif
\t    y)
\t\treturn 1;
\tswitch (x) {
#ifdef Y
\tcase 1:
\t\tbv->bv_page = 0;
\t\tbreak;
\tcase 2: {
#else
\tcase 2: {
#endif
\t\tbv->bv_page = 0;
\t\tbreak;
\t}
\t}
\treturn 0;
}
");
        assert!(left.is_empty(), "{left:?}");
        assert_eq!(new.matches("bvec_page(bv)").count(), 2, "{new}");
        assert_eq!(new.matches("bvec_set_page(bv, 0);").count(), 2, "{new}");
    }

    #[test]
    fn a_site_left_in_one_configuration_is_left_naming_it() {
        // An lvalue in one configuration, a read in the other.
        let (new, left) = run("\
void f(struct bio_vec *bv, struct page *p)
{
\tstruct page **q = 0;
\tif (p)
#ifdef X
\t\tq = &
#else
\t\tg(
#endif
\t\t  bv->bv_page
#ifndef X
\t\t  )
#endif
\t\t  ;
\tbv->bv_page = p;
}
");
        assert_eq!(
            left,
            [(
                10,
                "in the `#ifdef X` branch at line 5: its address is taken; a helper call has no address"
                    .to_string()
            )]
        );
        assert!(new.contains("\tbvec_set_page(bv, p);\n"), "{new}");
        assert!(new.contains("\t\t  bv->bv_page\n"), "{new}");
        // A configuration that does not parse keeps its sites: the one in
        // the other branch converts, the one both hold is left.
        let (new, left) = run("\
void f(struct bio_vec *bv)
{
#ifdef X
\tif (bv->bv_page)
\t\tg(1,
#else
\tg(1 +,
#endif
\t  bv->bv_page);
}
");
        assert_eq!(
            left,
            [(
                9,
                "in the `#else` branch of `#ifdef X` at line 3: inside code that tree-sitter could not parse"
                    .to_string()
            )]
        );
        assert!(new.contains("\tif (bvec_page(bv))\n"), "{new}");
    }

    #[test]
    fn a_reason_every_configuration_gives_names_none() {
        let (_, left) = run("\
void f(struct bio_vec *bv)
{
#ifdef X
\tif (a)
#else
\tif (b)
#endif
\t\tg();
\tint x = ) bv->bv_page;
}
");
        assert_eq!(
            left,
            [(
                9,
                "inside code that tree-sitter could not parse".to_string()
            )]
        );
    }

    #[test]
    fn too_many_configurations_are_reported() {
        let mut text = String::from("void f(struct bio_vec *bv)\n{\n");
        for k in 0..5 {
            text.push_str(&format!(
                "#ifdef X{k}\n\tif (a)\n#else\n\tif (b)\n#endif\n\t\tg();\n"
            ));
        }
        text.push_str("\tx = ) bv->bv_page;\n}\n");
        let (_, left) = run(&text);
        assert_eq!(left.len(), 1);
        assert!(
            left[0].1.ends_with(
                "(conditional directives split it into 32 configurations; bvmig tries at most 16)"
            ),
            "{left:?}"
        );
    }
}
