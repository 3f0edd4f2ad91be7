#!/bin/bash
# 20-debian-packages: real Debian *-dkms packages (fetched with apt-get download at test
# time, never committed), each added from its extracted /usr/src/<m>-<v>, built for two
# kernels, installed, shown by status (text and JSON), uninstalled and removed --all.
# Differential: Debian's own dkms 3.0.10 builds the same input for the same kernel in a
# separate scratch tree; the tool under test must agree on BUILD_EXCLUSIVE skips (exit 77,
# not a failure) and build the same set of module files.
. "$(dirname "$0")/lib.sh"
e2e_init
require_refdkms
use_root "$(new_root mf)"
use_ref_root "$(new_root ref)"
A=$E2E_ARCH
K1=${E2E_KERNELS[0]}

read -r -a PKGS <<<"${MODFORGE_TEST_DEBS:-v4l2loopback-dkms ddcci-dkms bbswitch-dkms evdi-dkms jool-dkms acpi-call-dkms iptables-netflow-dkms}"

# module_files DIR: sorted names of the module files in a result dir's module/.
module_files() { (cd "$1" 2>/dev/null && ls -1 | grep -E '\.ko(\.(gz|xz|zst))?$' | sort); }

# added_as DKMS_TREE SRCDIR: prints "M V" of the tree entry whose source link is SRCDIR.
added_as() {
	local link
	for link in "$1"/*/*/source; do
		[ -L "$link" ] && [ "$(readlink "$link")" = "$2" ] || continue
		link=${link%/source}
		printf '%s %s\n' "$(basename "$(dirname "$link")")" "$(basename "$link")"
		return 0
	done
	return 1
}

for pkg in "${PKGS[@]}"; do
	diag "=== $pkg"
	if ! dir=$(fetch_deb "$pkg" 2>"$E2E_TMP/fetch.err"); then
		not_ok "fetch $pkg (apt-get download + dpkg -x)" "$E2E_TMP/fetch.err"
		continue
	fi
	base=$(basename "$dir")
	expect_rc 0 mf add "$dir" -k "$K1" || continue
	if ! read -r M V < <(added_as "$DKMS" "$SRC/$base"); then
		not_ok "$pkg: add made <dkmstree>/<m>/<v>/source -> $SRC/$base"
		continue
	fi
	ok "$pkg registered as $M/$V"
	run_cmd ref add "$dir" -k "$K1"
	[ "$E2E_RC" -eq 0 ] || not_ok "reference add of $pkg (exit $E2E_RC)" "$E2E_ERR"

	WANT=()
	BUILT=()
	for K in "${E2E_KERNELS[@]}"; do
		run_cmd ref build -m "$M" -v "$V" -k "$K"
		ref_rc=$E2E_RC
		if [ "$ref_rc" -ne 0 ] && [ "$ref_rc" -ne 77 ]; then
			not_ok "reference (Debian's dkms) builds $M/$V for $K (exit $ref_rc)" \
				"$E2E_ERR" "$REF_ROOT/dkms/$M/$V/build/make.log"
			continue
		fi
		RES=$DKMS/$M/$V/$K/$A
		if [ "$ref_rc" -eq 77 ]; then
			# BUILD_EXCLUSIVE: the reference skipped this kernel; so must the tool.
			expect_rc 77 mf build "$M/$V" -k "$K"
			expect_text "BUILD_EXCLUSIVE" "$E2E_TMP/last.all"
			expect_no_file "$RES"
			continue
		fi
		expect_rc 0 mf build "$M/$V" -k "$K" || {
			[ -f "$DKMS/$M/$V/build/make.log" ] && tail -n 30 "$DKMS/$M/$V/build/make.log" | sed 's/^/#   make.log| /'
			continue
		}
		expect_file "$RES/log/make.log"
		mine=$(module_files "$RES/module")
		theirs=$(module_files "$REF_ROOT/dkms/$M/$V/$K/$A/module")
		expect_eq "$M/$V on $K: same module files as Debian's dkms ($(echo $theirs))" "$theirs" "$mine"
		[ -n "$mine" ] || not_ok "$M/$V on $K: at least one module built"
		for f in $mine; do
			expect_vermagic "$RES/module/$f" "$K"
		done

		expect_rc 0 mf install "$M/$V" -k "$K"
		expect_symlink "$DKMS/$M/kernel-$K-$A" "$V/$K/$A"
		for f in $mine; do
			# Debian: every DEST_MODULE_LOCATION becomes /updates/dkms (reference §2.2).
			expect_file "$INST/$K/updates/dkms/$f"
			expect_vermagic "$INST/$K/updates/dkms/$f" "$K"
		done
		expect_rc 0 mf status -m "$M" -v "$V" -k "$K"
		expect_lines "$E2E_OUT" "$M/$V, $K, $A: installed"
		if modforge_only "$M status --json for $K"; then
			expect_rc 0 mf status --json -m "$M" -v "$V" -k "$K"
			status_json_check "$E2E_OUT" "$M/$V, $K, $A: installed"
		fi
		WANT+=("$M/$V, $K, $A: installed")
		BUILT+=("$K")
	done

	[ ${#WANT[@]} -gt 0 ] || WANT=("$M/$V: added")
	expect_rc 0 mf status -m "$M"
	expect_lines "$E2E_OUT" "${WANT[@]}"

	for K in "${BUILT[@]}"; do
		expect_rc 0 mf uninstall "$M/$V" -k "$K"
		expect_no_file "$DKMS/$M/kernel-$K-$A"
		for f in $(module_files "$DKMS/$M/$V/$K/$A/module"); do
			expect_no_file "$INST/$K/updates/dkms/$f"
		done
		expect_rc 0 mf status -m "$M" -v "$V" -k "$K"
		expect_lines "$E2E_OUT" "$M/$V, $K, $A: built"
	done
	expect_rc 0 mf remove "$M/$V" --all
	expect_no_file "$DKMS/$M"
	expect_rc 0 mf status -m "$M"
	expect_lines "$E2E_OUT"
	run_cmd ref remove "$M/$V" --all
	[ "$E2E_RC" -eq 0 ] || not_ok "reference remove of $M/$V (exit $E2E_RC)" "$E2E_ERR"
done

expect_eq "nothing left in the scratch install tree" "" \
	"$(find "$INST" -name '*.ko*' | sed "s|^$E2E_TMP/||")"
e2e_done
