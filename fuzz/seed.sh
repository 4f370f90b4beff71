#!/bin/sh
# Seeds the three corpora (corpus/series, corpus/rewrite, corpus/rule) from
# the fixtures, the bundled rules, real patches (this repository's history
# and a kernel-like change made from fixtures/tree, as format-patch mails)
# and, given a kernel tree as $1, its C files that hold bv_page (copied,
# never modified). The corpora are not committed.
set -e
cd "$(dirname "$0")"
kernel=${1:-}
mkdir -p corpus/series corpus/rewrite corpus/rule

# series: diffs, mails and mboxes.
i=0
for f in ../fixtures/tree.expected.diff ../fixtures/rewrite/*/expected.diff; do
    i=$((i + 1))
    cp "$f" "corpus/series/fixture-$i"
done
git -C .. format-patch -q -o "$PWD/corpus/series" -30 HEAD >/dev/null
git -C .. format-patch --stdout -5 HEAD > corpus/series/series-5.mbox
# A kernel-like change: fixtures/tree and its expected rewrite as two
# commits of a scratch repository, mailed as one patch and as an mbox.
scratch=$(mktemp -d)
mkdir -p "$scratch/fixtures"
cp -a ../fixtures/tree "$scratch/fixtures/tree"
git -C "$scratch" init -q
gc() { git -C "$scratch" -c user.name=Fuzz -c user.email=fuzz@example.org "$@"; }
gc add -A
gc commit -qm 'block: the tree before'
git -C "$scratch" apply "$PWD/../fixtures/tree.expected.diff"
gc commit -qam 'block: use bvec_page() and bvec_set_page()'
gc format-patch -q --stdout -1 HEAD > corpus/series/kernel-like.patch
gc format-patch -q --stdout --attach -1 HEAD > corpus/series/kernel-like-attach.mbox
gc format-patch -q --stdout --cover-letter -2 HEAD > corpus/series/kernel-like-cover.mbox
rm -rf "$scratch"

# rewrite: a C file after one byte choosing the rule (see rewrite.rs).
seed_c() {
    name=$(echo "${1#../}" | tr / _)
    pick=$(printf %s "$name" | cksum | cut -d' ' -f1)
    { printf "\\$(printf %03o $((pick % 9)))"; cat "$1"; } > "corpus/rewrite/$name"
}
find ../fixtures ../rules/tests -name '*.[ch]' | while read -r f; do
    seed_c "$f"
done
if [ -n "$kernel" ]; then
    grep -rl --include='*.[ch]' bv_page "$kernel" | while read -r f; do
        seed_c "$f"
    done
fi

# rule: the bundled rules and every rule file of the fixtures.
find ../rules ../fixtures -name '*.cocci' | while read -r f; do
    cp "$f" "corpus/rule/$(echo "${f#../}" | tr / _)"
done
