#!/bin/bash
# 16-framework: framework.conf and framework.conf.d/*.conf (in the scratch /etc/dkms that
# MODFORGE_ETC_DKMS points to) give the tree defaults and parallel_jobs; the command line
# wins over them, and they win over the parallel_jobs environment variable (as in dkms).
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
if ! modforge_only "framework.conf through MODFORGE_ETC_DKMS"; then
	e2e_done
fi
use_root "$(new_root fw)"
K2=${E2E_KERNELS[1]}
ETC=$MODFORGE_ETC_DKMS
cat >"$ETC/framework.conf" <<CONF
# comments and shell are fine
dkms_tree="$ROOT/dkms"
source_tree="$ROOT/src"
install_tree=\$(echo "$ROOT/lib/modules")
CONF
mkdir -p "$ETC/framework.conf.d"
echo 'parallel_jobs=3' >"$ETC/framework.conf.d/50-jobs.conf"

# slots_of CMD...: the "slots" of the plan CMD prints.
slots_of() {
	"$@" >"$E2E_TMP/plan.json" 2>"$E2E_TMP/plan.err" || { echo "failed: $(cat "$E2E_TMP/plan.err")"; return; }
	"$E2E_PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("slots"))' "$E2E_TMP/plan.json"
}

# No tree flags: the framework's trees are used.
expect_rc 0 "$MODFORGE" add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
expect_symlink "$ROOT/dkms/mf-hello/1.0/source" "$ROOT/src/mf-hello-1.0"
expect_rc 0 "$MODFORGE" status
expect_lines "$E2E_OUT" "mf-hello/1.0: added"

expect_eq "framework.conf.d sets parallel_jobs=3" 3 "$(slots_of "$MODFORGE" build mf-hello/1.0 -k "$K1" --dry-run --json)"
expect_eq "-j on the command line wins" 2 "$(slots_of "$MODFORGE" build mf-hello/1.0 -k "$K1" -j 2 --dry-run --json)"
expect_eq "the framework wins over the environment" 3 "$(parallel_jobs=5 slots_of "$MODFORGE" build mf-hello/1.0 -k "$K1" --dry-run --json)"
rm "$ETC/framework.conf.d/50-jobs.conf"
expect_eq "without the framework value, the environment's parallel_jobs" 5 "$(parallel_jobs=5 slots_of "$MODFORGE" build mf-hello/1.0 -k "$K1" --dry-run --json)"
expect_eq "default: the online CPUs" "$(nproc)" "$(slots_of "$MODFORGE" build mf-hello/1.0 -k "$K1" --dry-run --json)"

# post_transaction: once per changed kernel, after all installs of the run, with
# $kernelver set (dkms re-reads it before running it).
if modforge_only "post_transaction once per run (dkms 3.4.3 skips it after autoinstall)"; then
	use_root "$(new_root post)"
	cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$SRC/"
	PT=$E2E_TMP/post-transaction.log
	echo "post_transaction='echo \"post \$kernelver \$(ls $INST/\$kernelver/updates/dkms | tr \"\\n\" \" \")\" >>$PT'" \
		>"$ETC/framework.conf.d/60-post.conf"
	expect_rc 0 mf add mf-hello/1.0
	expect_rc 0 mf install mf-hello/1.0 -k "$K1" -k "$K2"
	expect_lines "$PT" "post $K1 mf_greet.ko mf_hello.ko " "post $K2 mf_greet.ko mf_hello.ko "
	rm "$ETC/framework.conf.d/60-post.conf"
fi

# Command-line trees win over the framework's.
use_root "$(new_root other)"
expect_rc 0 mf status
expect_lines "$E2E_OUT"
e2e_done
