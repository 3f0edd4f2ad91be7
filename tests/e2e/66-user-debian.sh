#!/bin/bash
# 66-user-debian: the real Debian *-dkms packages of 20-debian-packages build as an
# ordinary user too (their builds confined as that user), in a tree the user owns, for
# every test kernel; each result has its kernel's vermagic and belongs to the user.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
if ! modforge_only "modforge's unprivileged mode"; then
	e2e_done
fi
[ "$(id -u)" = 0 ] || bail "this test switches to an unprivileged uid, so it starts as root"
command -v setpriv >/dev/null || bail "setpriv (util-linux) is needed"
U=4322
A=$E2E_ARCH
read -r -a PKGS <<<"${MODFORGE_TEST_DEBS:-v4l2loopback-dkms ddcci-dkms bbswitch-dkms evdi-dkms jool-dkms acpi-call-dkms iptables-netflow-dkms}"
use_root "$(new_root user)"
cp "$MODFORGE" "$E2E_TMP/modforge"
as_user() {
	setpriv --reuid "$U" --regid "$U" --clear-groups env MODFORGE_ETC_DKMS="$MODFORGE_ETC_DKMS" \
		"$E2E_TMP/modforge" "$@" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
}
MVS=()
for pkg in "${PKGS[@]}"; do
	dir=$(fetch_deb "$pkg" 2>"$E2E_TMP/fetch.err") || { not_ok "fetch $pkg" "$E2E_TMP/fetch.err"; continue; }
	cp -a "$dir" "$SRC/"
	base=$(basename "$dir")
	MVS+=("${base%-*}/${base##*-}")
done
chown -R "$U:$U" "$ROOT"
for mv in "${MVS[@]}"; do
	expect_rc 0 as_user add "$mv" || continue
	for K in "${E2E_KERNELS[@]}"; do
		run_cmd as_user build "$mv" -k "$K"
		res=$DKMS/$mv/$K/$A/module
		case $E2E_RC in
		77) ok "$mv on $K: excluded (BUILD_EXCLUSIVE), exit 77" ;;
		0)
			mods=$(cd "$res" 2>/dev/null && ls -1 | grep -E '\.ko' | sort)
			if [ -n "$mods" ]; then ok "$mv on $K built as uid $U: $(echo $mods)"; else not_ok "$mv on $K: modules in $res"; fi
			for f in $mods; do expect_vermagic "$res/$f" "$K"; done
			;;
		*) not_ok "$mv builds on $K as uid $U (exit $E2E_RC)" "$E2E_ERR" "$DKMS/$mv/build/make.log" ;;
		esac
	done
done
expect_eq "everything the user built is the user's" "" "$(find "$DKMS" ! -uid "$U" -print)"
e2e_done
