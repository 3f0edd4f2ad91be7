#!/bin/bash
# 55-cache-events: the build cache and the event stream. A rebuild after unbuild is a
# cache hit (no make runs, same module bytes); --no-cache builds again; headers changed
# under the same kernel version (.config edited) are a miss; a changed source is a miss.
# Every --events line validates against schema/events.schema.json.
. "$(dirname "$0")/lib.sh"
e2e_init
K1=${E2E_KERNELS[0]}
A=$E2E_ARCH
if ! modforge_only "the build cache and --events"; then
	e2e_done
fi
use_root "$(new_root cache)"
EV=$E2E_TMP/events.jsonl

# events_check DESC PYTHON: validates every line of $EV, then runs the assertions with
# `evs` (the list of events) in scope.
events_check() {
	if "$E2E_PY" - "$SCHEMA_DIR/events.schema.json" "$EV" >"$E2E_TMP/ev.log" 2>&1 <<PY; then
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
evs = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
for e in evs:
    jsonschema.validate(e, schema)
def kinds(ev, kind="build"): return [e for e in evs if e["event"] == ev and e.get("kind") == kind]
$2
PY
		ok "$1"
	else
		not_ok "$1" "$E2E_TMP/ev.log" "$EV"
	fi
}

cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$E2E_TMP/mf-hello-1.0"
expect_rc 0 mf add "$E2E_TMP/mf-hello-1.0" -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --events "$EV"
events_check "cold build: start and finish events, with the make.log path" '
assert len(kinds("start")) == 1 and len(kinds("finish")) == 1, evs
assert kinds("finish")[0]["log"].endswith("/log/make.log")
assert not kinds("cache_hit")'
events_check "one run is one stream: run_start, a start and an end for every job, run_end with the counts" '
runs = {e["run"] for e in evs}
assert len(runs) == 1, runs
assert evs[0]["event"] == "run_start" and evs[0]["command"] == "build" and evs[-1]["event"] == "run_end", evs
assert evs[-1]["exit_code"] == 0
jobs = {}
for e in evs[1:-1]:
    jobs.setdefault(e["job"], []).append(e["event"])
assert len(jobs) == evs[0]["jobs"], (jobs, evs[0])
assert all(v[0] == "start" and len(v) == 2 for v in jobs.values()), jobs
ends = [v[1] for v in jobs.values()]
assert evs[-1]["counts"] == {k: ends.count(k) for k in ("finish", "fail", "skip", "cache_hit")}, evs[-1]
assert [e for e in evs if e.get("kind") == "eval" and e["event"] == "finish"], "the eval job appears"'
cp "$DKMS/mf-hello/1.0/$K1/$A/module/mf_hello.ko" "$E2E_TMP/first.ko"
: >"$EV"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --events "$EV"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --events "$EV"
events_check "already built: a skip with its reason; each run its own id" '
s = kinds("skip")
assert len(s) == 2 and all(e["reason"] == "already built" for e in s), evs
assert len({e["run"] for e in evs}) == 2'
: >"$EV"
expect_rc 0 mf install mf-hello/1.0 -k "$K1" --events "$EV"
events_check "an in-process job: its start is written before it runs, its end after" '
st, fi = kinds("start", "install")[0], kinds("finish", "install")[0]
assert evs.index(st) < evs.index(fi) and st["time_ms"] <= fi["time_ms"], evs
assert kinds("skip")[0]["reason"] == "already built"'
expect_rc 1 mf install mf-hello/1.0 -k "$K1" --events /dev/full
expect_line "Error! Cannot write the events file /dev/full: No space left on device" "$E2E_ERR"
expect_rc 0 mf uninstall mf-hello/1.0 -k "$K1"

: >"$EV"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --events "$EV"
expect_line "Building module(s)... done." "$E2E_OUT"
events_check "rebuild after unbuild: a cache hit" 'assert len(kinds("cache_hit")) == 1 and not kinds("finish"), evs'
if cmp -s "$E2E_TMP/first.ko" "$DKMS/mf-hello/1.0/$K1/$A/module/mf_hello.ko"; then
	ok "the cached module is the very same file"
else
	not_ok "the cached module is the very same file"
fi
expect_no_file "$DKMS/mf-hello/1.0/build/make.log"

: >"$EV"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --force --events "$EV"
events_check "build --force builds for real, though the cache holds it" 'assert len(kinds("finish")) == 1 and not kinds("cache_hit"), evs'

: >"$EV"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --no-cache --events "$EV"
events_check "--no-cache builds again" 'assert len(kinds("finish")) == 1 and not kinds("cache_hit"), evs'

# Same kernel version, changed headers: a symlink copy of the header tree whose .config
# differs by one comment line.
FARM=$E2E_TMP/headers-changed
cp -as "$(readlink -f "$INST/$K1/build")" "$FARM"
rm "$FARM/.config"
{ cat "$(readlink -f "$INST/$K1/build")/.config"; echo "# changed"; } >"$FARM/.config"
: >"$EV"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --kernelsourcedir "$FARM" --events "$EV"
events_check "headers changed under the same version: a miss, make runs" 'assert len(kinds("finish")) == 1 and not kinds("cache_hit"), evs'

# A changed source file is a miss too.
echo "/* changed */" >>"$SRC/mf-hello-1.0/mf_hello.c"
: >"$EV"
expect_rc 0 mf unbuild mf-hello/1.0 -k "$K1"
expect_rc 0 mf build mf-hello/1.0 -k "$K1" --events "$EV"
events_check "a changed source: a miss" 'assert len(kinds("finish")) == 1 and not kinds("cache_hit"), evs'

# A failing build: a "fail" event naming the log in the build area.
cp -a "$MODFORGE_SRC/examples/mf-hello-1.0" "$E2E_TMP/mf-broken-1.0"
sed -i 's/PACKAGE_NAME="mf-hello"/PACKAGE_NAME="mf-broken"/' "$E2E_TMP/mf-broken-1.0/dkms.conf"
echo "this is not C" >>"$E2E_TMP/mf-broken-1.0/mf_hello.c"
expect_rc 0 mf add "$E2E_TMP/mf-broken-1.0" -k "$K1"
: >"$EV"
expect_rc 10 mf build mf-broken/1.0 -k "$K1" --events "$EV"
events_check "a failed build: a fail event with exit code 10 and its own log (build/make.log holds only the last failure)" '
f = kinds("fail")
assert len(f) == 1 and f[0]["exit_code"] == 10 and f[0]["log"].endswith("/.modforge/logs/mf-broken/1.0/make-'"$K1-$A"'.log"), evs
assert "make.log for mf-broken/1.0" in open(f[0]["log"]).read()'
e2e_done
