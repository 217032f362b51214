#!/usr/bin/env python3
"""Adds lockfile entries for rollup's other-platform builds that npm could not record.

The registry reachable from this project's machines lacks rollup's android/darwin/win32/...
packages, so `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock
as out of sync. Each missing entry is written with its os/cpu/libc, so npm ci skips it on this
platform as it would anywhere. Run after `npm install` changes the lock: python3 scripts/lock-platforms.py
"""
import json

lock = json.load(open("package-lock.json"))
pk = lock["packages"]
rollup = pk.get("node_modules/rollup", {})
added = 0
for name, version in rollup.get("optionalDependencies", {}).items():
    if "node_modules/" + name in pk:
        continue
    plat = name.split("/rollup-")[1]
    os_, cpu = plat.split("-")[:2]
    entry = {"version": version, "cpu": [cpu], "dev": True, "license": "MIT", "optional": True, "os": [os_]}
    if os_ == "linux":
        entry["libc"] = ["musl" if "musl" in plat else "glibc"]
    pk["node_modules/" + name] = entry
    added += 1
lock["packages"] = dict(sorted(pk.items(), key=lambda kv: (kv[0] != "", kv[0])))
with open("package-lock.json", "w") as f:
    json.dump(lock, f, indent=2)
    f.write("\n")
print(f"added {added} platform entries")
