#!/bin/bash
# 71-kernel-verbs: kernel_prerm and kernel_preinst (dkms 3.4.3), run through the kernel
# hooks (hooks/kernel/{prerm,preinst}.d/dkms): every module built for the kernel
# (kernel_preinst: every AUTOINSTALL one) is uninstalled and unbuilt, with one depmod;
# other kernels keep theirs; exactly one -k is required.
export TMPDIR=/var/tmp
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
A=$E2E_ARCH
if ! modforge_only "kernel_prerm / kernel_preinst (dkms >= 3.1.4)"; then
	e2e_done
fi
use_root "$(new_root kverbs)"
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
# A module without AUTOINSTALL: kernel_preinst leaves it alone.
mkdir -p "$SRC/mf-manual-1.0"
cat >"$SRC/mf-manual-1.0/mf_manual.c" <<'C'
#include <linux/module.h>
static int __init mf_manual_init(void) { return 0; }
static void __exit mf_manual_exit(void) { }
module_init(mf_manual_init);
module_exit(mf_manual_exit);
MODULE_LICENSE("GPL");
C
echo 'obj-m := mf_manual.o' >"$SRC/mf-manual-1.0/Kbuild"
printf '%s\n' 'PACKAGE_NAME="mf-manual"' 'PACKAGE_VERSION="1.0"' 'BUILT_MODULE_NAME[0]="mf_manual"' \
	'DEST_MODULE_LOCATION[0]="/updates"' >"$SRC/mf-manual-1.0/dkms.conf"
WRAP=$E2E_TMP/dkms-wrapper
cat >"$WRAP" <<SH
#!/bin/sh
exec "$MODFORGE" "\$@" --dkmstree "$DKMS" --sourcetree "$SRC" --installtree "$INST"
SH
chmod +x "$WRAP"
for mv in mf-hello/1.0 mf-manual/1.0; do
	expect_rc 0 mf add "$mv"
	expect_rc 0 mf install "$mv" -k "$K1" -k "$K2"
done

expect_rc 4 mf kernel_prerm -k "$K1" -k "$K2"
expect_text "requires exactly one kernel version" "$E2E_ERR"

# preinst: only the AUTOINSTALL module goes, from K1 only.
run_cmd env DKMS="$WRAP" sh "$MODFORGE_SRC/hooks/kernel/preinst.d/dkms" "$K1"
expect_eq "preinst.d/dkms exits 0" 0 "$E2E_RC"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K2, $A: installed" "mf-manual/1.0, $K1, $A: installed" "mf-manual/1.0, $K2, $A: installed"
expect_no_file "$INST/$K1/updates/dkms/mf_hello.ko"
expect_no_file "$DKMS/mf-hello/1.0/$K1"

# --dry-run: the plan (one depmod, an uninstall and an unbuild of what K1 still has),
# valid against the plan schema, and nothing changes.
before=$(find "$ROOT" -printf '%p %y %s\n' | sort)
expect_rc 0 mf kernel_prerm -k "$K1" --dry-run
expect_text "uninstall mf-manual/1.0 for $K1 ($A)" "$E2E_OUT"
expect_text "unbuild mf-manual/1.0 for $K1 ($A) [after " "$E2E_OUT"
expect_rc 0 mf kernel_prerm -k "$K1" --dry-run --json
if "$E2E_PY" - "$SCHEMA_DIR/plan.schema.json" "$E2E_OUT" "$K1" >"$E2E_TMP/plan.log" 2>&1 <<'PY'; then
import json, sys, jsonschema
schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
kinds = sorted((j["kind"], j.get("module") or "") for j in doc["jobs"])
assert kinds == [("depmod", ""), ("unbuild", "mf-manual"), ("uninstall", "mf-manual")], kinds
assert all(j["kernel"] == sys.argv[3] for j in doc["jobs"])
PY
	ok "kernel_prerm --dry-run prints its plan"
else
	not_ok "kernel_prerm --dry-run prints its plan" "$E2E_TMP/plan.log" "$E2E_OUT"
fi
expect_eq "kernel_prerm --dry-run changes nothing" "$before" "$(find "$ROOT" -printf '%p %y %s\n' | sort)"

# prerm: everything of K1 goes, with one depmod; K2 keeps its modules.
run_cmd env DKMS="$WRAP" sh "$MODFORGE_SRC/hooks/kernel/prerm.d/dkms" "$K1"
expect_eq "prerm.d/dkms exits 0" 0 "$E2E_RC"
expect_eq "one depmod for the kernel" 1 "$(grep -c 'Running depmod' "$E2E_OUT")"
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-hello/1.0, $K2, $A: installed" "mf-manual/1.0, $K2, $A: installed"
expect_eq "no dkms module left for $K1" "" "$(find "$INST/$K1" -name '*.ko*')"
expect_file "$INST/$K2/updates/dkms/mf_hello.ko"
# Nothing left for the kernel: a no-op.
expect_rc 0 mf kernel_prerm -k "$K1"
e2e_done
