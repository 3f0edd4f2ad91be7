#!/usr/bin/env python3
"""Projects a measured modforge run onto more cores.

Input: the plan of the run (`modforge ... --dry-run --json`, same command, so the job ids
match) and its events (`--events FILE` of the real run: duration_ms, cpu_ms per build).
The simulation schedules the plan as modforge does: jobs start when their dependencies
ended, builds longest chain first (rank = own time + the heaviest chain after it), never
two jobs with the same lock at once, at most P slots in use. A build's parallelism is
capped by what it showed on the measured machine (cpu_ms / duration_ms, at least 1), so
the projection does not assume makes scale further than they were seen to: a lower bound
on what P cores give. Inline jobs (install, depmod) take their measured time on no slot.

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


def simulate(jobs, slots):
    rank = ranks(jobs)
    done, running, t = set(), [], 0.0    # running: (end, id, slots used)
    free, locks = float(slots), set()
    pending = set(jobs)
    while pending or running:
        ready = [i for i in pending if all(d in done for d in jobs[i]["deps"])]
        ready.sort(key=lambda i: (-rank[i], i))
        started = False
        for i in ready:
            j = jobs[i]
            if j["kind"] != "build":
                heapq.heappush(running, (t + j["wall"], i, 0.0))
                pending.discard(i)
                started = True
                continue
            if j.get("lock") in locks or free < 1:
                continue
            use = min(free, j["par"])
            heapq.heappush(running, (t + j["work"] / use, i, use))
            free -= use
            if j.get("lock"):
                locks.add(j["lock"])
            pending.discard(i)
            started = True
        if started:
            continue
        end, i, use = heapq.heappop(running)
        t = end
        free += use
        locks.discard(jobs[i].get("lock"))
        done.add(i)
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
