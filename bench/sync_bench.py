#!/usr/bin/env python3
"""Wall time and peak memory of `ggen sync`, measured on the release build.

    python3 bench/sync_bench.py                        # prints a Markdown table
    python3 bench/sync_bench.py --baseline OTHER_GGEN  # and the same for another build, side by side

Scenarios:
  seed sync    `ggen init --lang erlang` project (the seed specification and
               the built-in Erlang templates), first sync into an empty tree
  no-op sync   the same project synced again: nothing to write
  10k pools    a specification with 10,000 jobs:WorkerPool instances (about
               40k triples) and a rule writing one small file per pool,
               first sync into an empty tree
  10k no-op    the 10k project synced again

Each scenario runs several times; the table gives the median and the
slowest wall time, and the largest peak resident set size of the ggen
process (from wait4). Every run is checked to exit 0. With --baseline, each
scenario runs for both binaries in turn (each on a project its own `init`
made), so that both see the same machine and disk.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GGEN = os.path.join(ROOT, "target", "release", "ggen")
POOLS = 10_000

PER_POOL_RULE = """
[[generation.rules]]
name = "pool_files"
query = { inline = \"\"\"
PREFIX jobs: <http://ggen.dev/ontology/jobs#>
PREFIX fn: <http://ggen.dev/fn#>
SELECT ?name ?size ?max_overflow ?strategy WHERE {
  ?pool a jobs:WorkerPool ; jobs:poolSize ?size ; jobs:maxOverflow ?max_overflow ; jobs:strategy ?strategy .
  BIND(fn:snake_case(fn:local_name(?pool)) AS ?name)
} ORDER BY ?name
\"\"\" }
template = { inline = "{{ name }}: size {{ size }}, overflow {{ max_overflow }}, {{ strategy }}\\n" }
output_file = "pools/{{ name }}.txt"
for_each = "row"
"""


def run(ggen, args, cwd):
    """Runs ggen once; returns (wall seconds, peak RSS in MiB) of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen([ggen, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"ggen {' '.join(args)} failed in {cwd}:\n{proc.stdout.read().decode()}{proc.stderr.read().decode()}")
    proc.stdout.close()
    proc.stderr.close()
    return elapsed, usage.ru_maxrss / 1024


def clean_outputs(project, generated):
    for d in generated:
        shutil.rmtree(os.path.join(project, d), ignore_errors=True)
    shutil.rmtree(os.path.join(project, ".ggen"), ignore_errors=True)


def measure(ggen, label, project, generated, first, runs):
    times, rss = [], []
    for _ in range(runs):
        if first:
            clean_outputs(project, generated)
        elapsed, peak = run(ggen, ["sync", "-q"], project)
        times.append(elapsed)
        rss.append(peak)
    return label, statistics.median(times), max(times), max(rss)


def ten_thousand_pools(project):
    lines = ["@prefix jobs: <http://ggen.dev/ontology/jobs#> .",
             "@prefix ex: <http://example.org/app#> .", ""]
    for i in range(POOLS):
        lines.append(f"ex:pool{i:05d} a jobs:WorkerPool ; jobs:poolSize {1 + i % 50} ;"
                     f" jobs:maxOverflow {i % 7} ; jobs:strategy \"{'lifo' if i % 2 else 'fifo'}\" .")
    spec = os.path.join(project, ".specify/specs/001-job-queue/feature.ttl")
    with open(spec, "w") as f:
        f.write("\n".join(lines) + "\n")
    manifest = os.path.join(project, "ggen.toml")
    with open(manifest) as f:
        text = f.read()
    if "[generation]" in text:
        # A first-release manifest: its vocabulary and rules, not its files.
        head = text[: text.index("[generation]")]
    else:
        # The built-in `jobs` target: the vocabulary without generated files.
        head = text.replace('name = "erlang"', 'name = "jobs"')
    with open(manifest, "w") as f:
        f.write(head + "\n[generation]\noutput_dir = \".\"\n" + PER_POOL_RULE)


def scenarios(ggen, tmp, name):
    """The four scenarios for one binary, in its own folder under tmp."""
    rows = []
    seed = os.path.join(tmp, name, "seed")
    subprocess.run([ggen, "init", "--lang", "erlang", "--name", "my_erlang_jobs", seed],
                   check=True, capture_output=True)
    rows.append(measure(ggen, "seed sync (first, empty tree)", seed,
                        ["src", "test", "bench", "rebar.config"], True, 15))
    run(ggen, ["sync", "-q"], seed)
    rows.append(measure(ggen, "seed no-op re-sync", seed, [], False, 15))

    big = os.path.join(tmp, name, "big")
    subprocess.run([ggen, "init", "--lang", "erlang", "--name", "big", big],
                   check=True, capture_output=True)
    ten_thousand_pools(big)
    rows.append(measure(ggen, f"{POOLS:,} pools (first, {POOLS:,} files)", big, ["pools"], True, 3))
    run(ggen, ["sync", "-q"], big)
    rows.append(measure(ggen, f"{POOLS:,} pools no-op re-sync", big, [], False, 3))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="another ggen binary to measure in the same run")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    builds = [("this build", GGEN)] + ([("baseline", args.baseline)] if args.baseline else [])
    versions = {label: subprocess.run([ggen, "--version"], capture_output=True, text=True).stdout.strip()
                for label, ggen in builds}
    with tempfile.TemporaryDirectory(prefix="ggen-bench-") as tmp:
        results = {label: scenarios(ggen, tmp, f"b{i}") for i, (label, ggen) in enumerate(builds)}

    print(", ".join(f"{label}: {versions[label]}" for label, _ in builds)
          + f"; {os.cpu_count()} CPUs; `python3 bench/sync_bench.py"
          + (" --baseline …`" if args.baseline else "`") + "\n")
    print("| scenario | build | median wall | slowest | peak RSS |")
    print("|---|---|---:|---:|---:|")
    for i, (label, _, _, _) in enumerate(results["this build"]):
        for build, _ in builds:
            _, median, worst, rss = results[build][i]
            print(f"| {label} | {build} | {median * 1e3:.1f} ms | {worst * 1e3:.1f} ms | {rss:.1f} MiB |")


if __name__ == "__main__":
    main()
