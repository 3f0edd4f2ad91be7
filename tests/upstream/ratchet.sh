#!/bin/bash
# tests/upstream/ratchet.sh - the ctest of dkms 3.4.3's own suite (run_suite.sh): runs every
# section, prints the table, and fails when a section listed in tests/upstream/passing
# fails. A section that passes without being listed is named, to be added.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
UP=${MODFORGE_UPSTREAM:-$HERE/../../../shared/upstream/dkms-3.4.3}
if [ ! -f "$UP/run_test.sh" ]; then
	echo "SKIP: dkms 3.4.3's suite is not at $UP (../shared/upstream beside the checkout)"
	exit 77
fi
table=$(bash "$HERE/run_suite.sh")
echo "$table"
mapfile -t want < <(grep -v '^#' "$HERE/passing" | grep -v '^$')
bad=0
for s in "${want[@]}"; do
	grep -qx "$s pass" <<<"$table" || { echo "REGRESSION: section $s no longer passes"; bad=1; }
done
while read -r s verdict; do
	[ "$verdict" = pass ] || continue
	printf '%s\n' "${want[@]}" | grep -qx "$s" || echo "note: section $s passes now: add it to tests/upstream/passing"
done < <(grep -v '^#' <<<"$table" | awk '{print $1, $2}')
echo "$(grep -c ' pass$' <<<"$table") of $(grep -vc '^#' <<<"$table") sections pass"
exit "$bad"
