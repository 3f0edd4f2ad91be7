#!/usr/bin/env python3
"""Projects a measured modforge run onto more cores.

Input: the plan of the run (`modforge ... --dry-run --json`, same command, so the job ids
match) and its events (`--events FILE` of the real run: duration_ms, cpu_ms per build).
The simulation schedules the plan as modforge does: jobs start when their dependencies
ended, builds longest chain first (rank = own time + the heaviest chain after it), never
two jobs with the same lock at once, at most P slots in use. A build's parallelism is
capped by what it showed on the measured machine (cpu_ms / duration_ms, at least 1), so
the projection does not assume makes scale further than they were seen to: a lower bound
on what P cores give. Running builds share the cores (each holds one slot at least, as
with the jobserver). Inline jobs (install, depmod) take their measured time on no slot.
Check: at P = the measured machine's cores it should come close to the measured wall time.

dkms's projection: the same jobs one after the other (dkms runs one build at a time; its
make gets -jP but each build is capped the same way).

Usage: project.py PLAN.json EVENTS.jsonl [P ...]     (default P: 2 16)
"""
import heapq
import json
import sys


def load(plan_path, events_path):
    jobs = {j["id"]: j for j in json.load(open(plan_path))["jobs"]}
    for line in open(events_path):
        if not line.strip():
            continue
        e = json.loads(line)
        if "job" not in e:  # run_start / run_end (modforge.event/2)
            continue
        j = jobs.get(e["job"])
        if j is None or e["event"] == "start":
            continue
        j["wall"] = e.get("duration_ms", 0) / 1000.0
        j["cpu"] = e.get("cpu_ms", 0) / 1000.0
        j["outcome"] = e["event"]
    for j in jobs.values():
        j.setdefault("wall", 0.0)
        j.setdefault("cpu", 0.0)
        j["par"] = max(1.0, j["cpu"] / j["wall"]) if j["kind"] == "build" and j["wall"] > 0 else 1.0
        j["work"] = j["cpu"] if j["kind"] == "build" and j["cpu"] > 0 else j["wall"]
    return jobs


def ranks(jobs):
    after = {i: [] for i in jobs}
    for j in jobs.values():
        for d in j["deps"]:
            after[d].append(j["id"])
    memo = {}

    def rank(i):
        if i not in memo:
            memo[i] = jobs[i]["work"] + max((rank(k) for k in after[i]), default=0.0)
        return memo[i]
    return {i: rank(i) for i in jobs}


def shares(run, jobs, slots):
    """Water-filling: P cores shared by the running builds, each capped at its par."""
    rate, left, todo = {}, float(slots), sorted(run, key=lambda i: jobs[i]["par"])
    for n, i in enumerate(todo):
        rate[i] = min(jobs[i]["par"], left / (len(todo) - n))
        left -= rate[i]
    return rate


def simulate(jobs, slots):
    """Builds start by rank whenever fewer than P run (each holds at least one slot) and no
    running job has their lock; running builds share the P cores (fluid), each at most at
    its measured parallelism. Inline jobs take their measured time."""
    rank = ranks(jobs)
    done, t = set(), 0.0
    remaining = {}                      # running build -> work left (CPU s)
    inline = []                         # (end, id)
    pending = set(jobs)
    while pending or remaining or inline:
        ready = sorted((i for i in pending if all(d in done for d in jobs[i]["deps"])),
                       key=lambda i: (-rank[i], i))
        for i in ready:
            j = jobs[i]
            if j["kind"] != "build":
                heapq.heappush(inline, (t + j["wall"], i))
                pending.discard(i)
            elif len(remaining) < slots and not any(jobs[k].get("lock") and jobs[k].get("lock") == j.get("lock")
                                                    for k in remaining):
                remaining[i] = j["work"]
                pending.discard(i)
        rate = shares(remaining, jobs, slots)
        dt_build = min((remaining[i] / rate[i] for i in remaining if rate[i] > 0), default=float("inf"))
        dt_inline = inline[0][0] - t if inline else float("inf")
        dt = min(dt_build, dt_inline)
        if dt == float("inf"):
            break
        t += dt
        for i in list(remaining):
            remaining[i] -= rate[i] * dt
            if remaining[i] <= 1e-9:
                del remaining[i]
                done.add(i)
        while inline and inline[0][0] <= t + 1e-9:
            done.add(heapq.heappop(inline)[1])
    return t


def serial(jobs, slots):
    return sum(j["work"] / min(slots, j["par"]) if j["kind"] == "build" else j["wall"] for j in jobs.values())


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    jobs = load(sys.argv[1], sys.argv[2])
    cores = [int(x) for x in sys.argv[3:]] or [2, 16]
    cpu = sum(j["cpu"] for j in jobs.values())
    out = {"jobs": len(jobs), "builds": sum(j["kind"] == "build" for j in jobs.values()), "cpu_s": round(cpu, 1),
           "projection": []}
    for p in cores:
        mf, dk = simulate(jobs, p), serial(jobs, p)
        out["projection"].append({"cores": p, "modforge_s": round(mf, 1), "dkms_serial_s": round(dk, 1),
                                  "ratio": round(dk / mf, 2) if mf else None})
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
