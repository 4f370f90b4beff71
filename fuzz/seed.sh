#!/bin/sh
# Seeds corpus/series with the diffs of the fixtures and real patches (this
# repository's own history as format-patch mails, one mbox of several).
set -e
cd "$(dirname "$0")"
mkdir -p corpus/series
i=0
for f in ../fixtures/tree.expected.diff ../fixtures/rewrite/*/expected.diff; do
    i=$((i + 1))
    cp "$f" "corpus/series/fixture-$i"
done
git -C .. format-patch -q -o "$PWD/corpus/series" -30 HEAD >/dev/null
git -C .. format-patch --stdout -5 HEAD > corpus/series/series-5.mbox
