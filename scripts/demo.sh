#!/bin/bash
# scripts/demo.sh - shows modforge at work without touching the real system: builds it,
# makes a scratch root (dkms tree, source tree and install tree; $MODFORGE_DEMO_ROOT or a
# new /tmp/modforge-demo.XXXXXX), adds the two example packages, builds and installs them
# for every kernel that has headers here, and prints `status`. The root is left for a look.
set -euo pipefail
trap 'echo "demo.sh: line $LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR
cd "$(dirname "$0")/.."
REPO=$PWD

bash scripts/deps.sh
echo "demo: building modforge"
cmake -S . -B build -DMODFORGE_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
MF=${MODFORGE:-$REPO/build/modforge}

ROOT=${MODFORGE_DEMO_ROOT:-$(mktemp -d /tmp/modforge-demo.XXXXXX)}
chmod 755 "$ROOT" # the sandbox's build user must reach the trees (mktemp makes it 0700)
mkdir -p "$ROOT/dkms" "$ROOT/src" "$ROOT/lib/modules"
KERNELS=()
for d in /usr/src/linux-headers-*; do
	[ -f "$d/Makefile" ] || continue
	k=${d#/usr/src/linux-headers-}
	case "$k" in *-common | *-common-rt) continue ;; esac
	KERNELS+=("$k")
	mkdir -p "$ROOT/lib/modules/$k"
	ln -sfn "$d" "$ROOT/lib/modules/$k/build"
	for f in modules.dep modules.order modules.builtin modules.builtin.modinfo; do
		[ -e "$ROOT/lib/modules/$k/$f" ] || : >"$ROOT/lib/modules/$k/$f"
	done
done
if [ ${#KERNELS[@]} -eq 0 ]; then
	echo "demo: no kernel headers under /usr/src (run scripts/deps.sh)" >&2
	exit 1
fi
echo "demo: scratch root $ROOT; kernels: ${KERNELS[*]}"

mf() {
	echo "+ modforge $*"
	"$MF" "$@" --dkmstree "$ROOT/dkms" --sourcetree "$ROOT/src" --installtree "$ROOT/lib/modules"
}

for ex in mf-hello-1.0 mf-consumer-1.0; do
	m=${ex%-*}
	if [ -L "$ROOT/dkms/$m/1.0/source" ]; then
		echo "demo: $m/1.0 already added"
	else
		mf add "$REPO/examples/$ex" -k "${KERNELS[0]}"
	fi
done

# One plan: every AUTOINSTALL module for every kernel with headers, BUILD_DEPENDS first,
# independent builds in parallel under one -j budget.
mf autoinstall --all-kernels

echo
mf status | tee "$ROOT/status.txt"
want=$((2 * ${#KERNELS[@]}))
got=$(grep -c ': installed' "$ROOT/status.txt" || true)
if [ "$got" -ne "$want" ]; then
	echo "demo: expected $want installed (module, kernel) pairs, status shows $got" >&2
	exit 1
fi
echo
echo "demo: installed modules under $ROOT/lib/modules:"
find "$ROOT/lib/modules" -name '*.ko*' | sort
