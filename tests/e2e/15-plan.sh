#!/bin/bash
# 15-plan: `--dry-run --json` prints the plan a command would run (schema/plan.schema.json)
# and runs nothing: install over two kernels (eval -> build -> install -> depmod per kernel,
# builds of one module/version in turn), autoinstall (BUILD_DEPENDS as an edge from the
# dependency's install to the dependent's build), remove --all (uninstall -> depmod ->
# unbuild per kernel).
. "$(dirname "$0")/lib.sh"
e2e_init
use_root "$(new_root plan)"
K1=${E2E_KERNELS[0]}
K2=${E2E_KERNELS[1]}
if e2e_is_reference; then
	skip "plan JSON" "--dry-run --json is modforge's own; nothing to compare in reference mode"
	e2e_done
fi

# check_plan FILE PYTHON-ASSERTIONS: FILE validates against the plan schema, then the
# assertions run with `jobs` (list) and helpers find()/deps() in scope.
check_plan() {
	local file=$1 desc=$2 code=$3
	if "$E2E_PY" - "$SCHEMA_DIR/plan.schema.json" "$file" "$K1" "$K2" >"$E2E_TMP/plan.log" 2>&1 <<PY; then
import json, sys, jsonschema
schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
K1, K2 = sys.argv[3], sys.argv[4]
jobs = doc["jobs"]
def find(kind, m=None, k=None):
    hits = [j for j in jobs if j["kind"] == kind and (m is None or j["module"] == m) and (k is None or j["kernel"] == k)]
    assert len(hits) == 1, (kind, m, k, hits)
    return hits[0]["id"]
def deps(i): return set(jobs[i]["deps"])
$code
PY
		ok "$desc"
	else
		not_ok "$desc" "$E2E_TMP/plan.log" "$file"
	fi
}

snapshot() { find "$ROOT" -printf '%p %y %s\n' | sort; }

expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-hello-1.0" -k "$K1"
expect_rc 0 mf add "$MODFORGE_SRC/examples/mf-consumer-1.0" -k "$K1"
before=$(snapshot)

expect_rc 0 mf install mf-hello/1.0 -k "$K1" -k "$K2" --dry-run --json
check_plan "$E2E_OUT" "install plan: build -> install -> depmod per kernel; confined builds of one module/version run at once" '
e = find("eval", "mf-hello")
b1, b2 = find("build", "mf-hello", K1), find("build", "mf-hello", K2)
i1, i2 = find("install", "mf-hello", K1), find("install", "mf-hello", K2)
d1, d2 = find("depmod", None, K1), find("depmod", None, K2)
assert e in deps(b1) and e in deps(b2)
assert b1 not in deps(b2) and b2 not in deps(b1), "no order between the kernels"
assert "lock" not in jobs[b1] and "lock" not in jobs[b2], "each confined build has its own build area"
assert deps(i1) == {b1} and deps(i2) == {b2}
assert deps(d1) == {i1} and deps(d2) == {i2}
assert all(j["state"] == "pending" for j in jobs if j["kind"] != "eval")
'

expect_rc 0 mf install mf-hello/1.0 -k "$K1" -k "$K2" --dry-run --json --no-sandbox
check_plan "$E2E_OUT" "unconfined, the builds of one module/version share its one build area: a lock" '
b1, b2 = find("build", "mf-hello", K1), find("build", "mf-hello", K2)
assert jobs[b1]["lock"] == jobs[b2]["lock"] and jobs[b1]["lock"].endswith("/mf-hello/1.0/build")
'

expect_rc 0 mf autoinstall -k "$K1" --dry-run --json
check_plan "$E2E_OUT" "autoinstall plan: BUILD_DEPENDS is an edge, one depmod after every install" '
bh, ih = find("build", "mf-hello", K1), find("install", "mf-hello", K1)
bc, ic = find("build", "mf-consumer", K1), find("install", "mf-consumer", K1)
d = find("depmod", None, K1)
assert ih in deps(bc), "mf-consumer builds after mf-hello is installed"
assert bh not in deps(bc) or ih in deps(bc)
assert {ih, ic} <= deps(d)
assert len([j for j in jobs if j["kind"] == "depmod"]) == 1
'

expect_rc 0 mf remove mf-hello/1.0 --all --dry-run --json
check_plan "$E2E_OUT" "remove --all of a module built nowhere plans only the remove" '
assert [j["kind"] for j in jobs] == ["remove"], jobs
'

# Decisions are made with the plan and shown: each build's verdict, modules, make
# command, signing, compression and cache; the key pair is a job before the builds.
expect_rc 0 mf install mf-hello/1.0 -k "$K1" -k "$K2" --dry-run --json
check_plan "$E2E_OUT" "install plan: each build resolved; no key yet, so one keygen job before both builds, and no cache" '
kg = find("keygen")
for k in (K1, K2):
    b = find("build", "mf-hello", k)
    d = jobs[b]["decision"]
    assert d["verdict"] == "build", d
    assert d["modules"] == ["mf_hello", "mf_greet"], d
    assert d["make"].startswith("make KERNELRELEASE=%s -C " % k), d
    assert d["sign"] == "sha256", d
    assert d["cache_key"] is None and d["no_cache"] == "the signing key is made in this run", d
    assert kg in deps(b)
'
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --dry-run --json --no-cache
check_plan "$E2E_OUT" "--no-cache is a decision of the plan" '
assert jobs[find("build", "mf-hello", K1)]["decision"]["no_cache"] == "--no-cache"
'
expect_rc 0 mf generate_mok --dry-run --json
check_plan "$E2E_OUT" "generate_mok --dry-run: one keygen job" '
assert [j["kind"] for j in jobs] == ["keygen"], jobs
'
expect_no_file "$DKMS/mok.key"

# Without --json, the plan as a person reads it.
expect_rc 0 mf install mf-hello/1.0 -k "$K1" -k "$K2" --dry-run
expect_line "Plan: 9 jobs, $(nproc) job slots (nothing is changed with --dry-run):" "$E2E_OUT"
expect_text "keygen" "$E2E_OUT"
expect_text "build mf-hello/1.0 for $K1 ($E2E_ARCH): make, signed sha256, " "$E2E_OUT"
expect_text "install mf-hello/1.0 for $K2 ($E2E_ARCH) [after " "$E2E_OUT"
expect_text "depmod for $K1 ($E2E_ARCH) [after " "$E2E_OUT"

# A source tree not added yet: the add is the plan's first job; nothing is copied.
mkdir -p "$E2E_TMP/tree"
cp -r "$MODFORGE_SRC/examples/mf-hello-1.0" "$E2E_TMP/tree/"
sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"2.0\"/" "$E2E_TMP/tree/mf-hello-1.0/dkms.conf"
expect_rc 0 mf build "$E2E_TMP/tree/mf-hello-1.0" -k "$K1" --dry-run --json
check_plan "$E2E_OUT" "build of a source tree: add (with its source) -> build" '
a, b = find("add", "mf-hello"), find("build", "mf-hello", K1)
assert jobs[a]["version"] == "2.0" and jobs[a]["source"].endswith("/tree/mf-hello-1.0"), jobs[a]
assert a in deps(b)
'
expect_rc 0 mf add "$E2E_TMP/tree/mf-hello-1.0" --dry-run --json
check_plan "$E2E_OUT" "add --dry-run: one add job" '
assert [j["kind"] for j in jobs] == ["add"] and jobs[0]["version"] == "2.0", jobs
'
expect_no_file "$SRC/mf-hello-2.0"
expect_no_file "$DKMS/mf-hello/2.0"

expect_eq "--dry-run wrote nothing in the scratch root" "$before" "$(snapshot)"
if [ -e "$DKMS/mok.key" ]; then not_ok "--dry-run made no key pair" "$DKMS/mok.key"; else ok "--dry-run made no key pair"; fi
expect_rc 0 mf status
expect_lines "$E2E_OUT" "mf-consumer/1.0: added" "mf-hello/1.0: added"

# A real install, then the remove plan over both kernels.
expect_rc 0 mf install mf-hello/1.0 -k "$K1" -k "$K2"
expect_rc 0 mf remove mf-hello/1.0 --all --dry-run --json
check_plan "$E2E_OUT" "remove --all plan: uninstall -> depmod -> unbuild per kernel -> remove" '
r = find("remove", "mf-hello")
for k in (K1, K2):
    u, d, b = find("uninstall", "mf-hello", k), find("depmod", None, k), find("unbuild", "mf-hello", k)
    assert deps(d) == {u} and deps(b) == {d}
    assert {u, d, b} <= deps(r)
'

expect_rc 0 mf build mf-hello/1.0 -k "$K1" --dry-run --json
check_plan "$E2E_OUT" "build of a built one: nothing to do, decided" '
b = find("build", "mf-hello", K1)
assert jobs[b]["decision"] == {"verdict": "already-built"}, jobs[b]
assert [j["kind"] for j in jobs] == ["eval", "build"], jobs
'
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --dry-run --json --force
check_plan "$E2E_OUT" "build --force of a built one: an unbuild job first; no keygen (the install made the key); built for real though the cache holds it, and stored" '
b, u = find("build", "mf-hello", K1), find("unbuild", "mf-hello", K1)
assert u in deps(b)
assert not [j for j in jobs if j["kind"] == "keygen"], jobs
d = jobs[b]["decision"]
assert d["verdict"] == "build" and len(d["cache_key"]) == 64 and d["cached"] is False, d
assert d["no_cache"].startswith("--force"), d
s = find("store", "mf-hello", K1)
assert deps(s) == {b}
'

# The cache: the install stored its result; once unbuilt, a plan finds it there.
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --dry-run --json
check_plan "$E2E_OUT" "a build the cache holds: cached, and no store job" '
d = jobs[find("build", "mf-hello", K1)]["decision"]
assert d["cached"] is True and "no_cache" not in d, d
assert not [j for j in jobs if j["kind"] == "store"], jobs
'

# BUILD_EXCLUSIVE is decided with the plan, with its reason.
mkdir -p "$E2E_TMP/excl"
cp -r "$MODFORGE_SRC/examples/mf-hello-1.0" "$E2E_TMP/excl/mf-excl-1.0"
sed -i -e "s/^PACKAGE_NAME=.*/PACKAGE_NAME=\"mf-excl\"/" "$E2E_TMP/excl/mf-excl-1.0/dkms.conf"
printf 'BUILD_EXCLUSIVE_KERNEL="^%s$"\n' "$K2" >>"$E2E_TMP/excl/mf-excl-1.0/dkms.conf"
expect_rc 0 mf add "$E2E_TMP/excl/mf-excl-1.0" -k "$K1"
expect_rc 0 mf build mf-excl/1.0 -k "$K1" -k "$K2" --dry-run --json
check_plan "$E2E_OUT" "BUILD_EXCLUSIVE: refused with 77 and the rule for the kernel it excludes" '
d1 = jobs[find("build", "mf-excl", K1)]["decision"]
d2 = jobs[find("build", "mf-excl", K2)]["decision"]
assert d1["verdict"] == "refused" and d1["exit_code"] == 77 and "BUILD_EXCLUSIVE_KERNEL" in d1["excluded"], d1
assert d2["verdict"] == "build", d2
'

# framework.conf post_transaction: one job after every other one.
printf 'post_transaction="true"\n' >"$MODFORGE_ETC_DKMS/framework.conf"
expect_rc 0 mf uninstall mf-hello/1.0 -k "$K1" -k "$K2" --dry-run --json
check_plan "$E2E_OUT" "post_transaction waits for every other job" '
p = find("post_transaction")
assert deps(p) == set(range(len(jobs))) - {p}, jobs[p]
'
rm -f "$MODFORGE_ETC_DKMS/framework.conf"
e2e_done
