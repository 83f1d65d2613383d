#!/usr/bin/env python3
"""Wall time and peak memory of `ggen sync`, measured on the release build.

    python3 bench/sync_bench.py                        # prints Markdown tables
    python3 bench/sync_bench.py --baseline OTHER_GGEN  # and the ggen scenarios for another build, side by side
    python3 bench/sync_bench.py --quick                # the small scenarios only

Scenarios (each first sync runs into an empty tree; "no-op" syncs again with
nothing changed; "one pool edited" changes one pool's size, then syncs):
  seed         `ggen init --lang erlang` project: the seed specification and
               the built-in Erlang target (26 files)
  10k pools    10,000 jobs:WorkerPool instances, the built-in `jobs`
               vocabulary and one rule writing one small file per pool
  100k pools   `ggen init --lang rust` with 100,000 pools appended to its
               specification (about 700k quads after defaults): the Rust
               target's 25 files, among them a config module listing every pool
  1M triples   a generic specification of 200,000 items of 5 triples each
               (no shapes, no target), one rule writing every item into one
               file; the baseline is bench/oxigraph_baseline.rs, a bare
               oxigraph program that loads the same file, runs the same
               query and writes the same rows, measured in the same run

Each scenario runs several times; the tables give the median and the
slowest wall time, and the largest peak resident set size of the measured
process (from wait4). Every run is checked to exit 0.
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
BARE = os.path.join(ROOT, "target", "release", "examples", "oxigraph_baseline")
SPEC = ".specify/specs/001-job-queue/feature.ttl"
ITEMS = 200_000

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

GENERIC_QUERY = """PREFIX ex: <http://example.org/items#>
SELECT ?item ?name ?size ?group ?tag WHERE {
  ?item a ex:Item ; ex:name ?name ; ex:size ?size ; ex:group ?group ; ex:tag ?tag .
} ORDER BY ?name
"""

GENERIC_MANIFEST = """[project]
name = "generic"
version = "0.1.0"

[ontology]
source = "data.ttl"

[generation]
output_dir = "."

[[generation.rules]]
name = "items"
query = { file = "items.rq" }
template = { inline = \"\"\"{% for r in rows %}{{ r.item }}\t{{ r.name }}\t{{ r.size }}\t{{ r.group }}\t{{ r.tag }}
{% endfor %}\"\"\" }
output_file = "out/items.tsv"
header = false
"""


def run(command, cwd):
    """Runs a command once; returns (wall seconds, peak RSS in MiB) of that process."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(command)} failed in {cwd}:\n{out}{err}")
    return elapsed, usage.ru_maxrss / 1024


def measure(label, runs, prepare, command, cwd):
    times, rss = [], []
    for _ in range(runs):
        prepare()
        elapsed, peak = run(command, cwd)
        times.append(elapsed)
        rss.append(peak)
    return label, statistics.median(times), max(times), max(rss)


def clean(project, generated):
    def go():
        for d in generated:
            path = os.path.join(project, d)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)
        shutil.rmtree(os.path.join(project, ".ggen"), ignore_errors=True)
    return go


def nothing():
    pass


def pools_lines(count, digits):
    return [f"ex:pool{i:0{digits}d} a jobs:WorkerPool ; jobs:poolSize {1 + i % 50} ;"
            f" jobs:maxOverflow {i % 7} ; jobs:strategy \"{'lifo' if i % 2 else 'fifo'}\" ."
            for i in range(count)]


def edit_one_pool(project):
    """Toggles the size of the first pool between two values."""
    spec = os.path.join(project, SPEC)

    def go():
        with open(spec) as f:
            text = f.read()
        a, b = "jobs:poolSize 1 ;", "jobs:poolSize 9 ;"
        text = text.replace(a, b, 1) if a in text else text.replace(b, a, 1)
        with open(spec, "w") as f:
            f.write(text)
    return go


def ten_thousand_pools(ggen, project):
    subprocess.run([ggen, "init", "--lang", "erlang", "--name", "big", project],
                   check=True, capture_output=True)
    lines = ["@prefix jobs: <http://ggen.dev/ontology/jobs#> .",
             "@prefix ex: <http://example.org/app#> .", ""] + pools_lines(10_000, 5)
    with open(os.path.join(project, SPEC), "w") as f:
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


def hundred_thousand_pools(ggen, project):
    subprocess.run([ggen, "init", "--lang", "rust", "--name", "huge", project],
                   check=True, capture_output=True)
    with open(os.path.join(project, SPEC), "a") as f:
        f.write("\n@prefix ex: <http://example.org/app#> .\n" + "\n".join(pools_lines(100_000, 6)) + "\n")


def generic(project):
    os.makedirs(project)
    with open(os.path.join(project, "data.ttl"), "w") as f:
        f.write("@prefix ex: <http://example.org/items#> .\n")
        for i in range(ITEMS):
            f.write(f"ex:i{i:06d} a ex:Item ; ex:name \"item {i:06d}\" ; ex:size {i % 1000} ;"
                    f" ex:group ex:g{i % 100} ; ex:tag \"t{i % 17}\" .\n")
    with open(os.path.join(project, "items.rq"), "w") as f:
        f.write(GENERIC_QUERY)
    with open(os.path.join(project, "ggen.toml"), "w") as f:
        f.write(GENERIC_MANIFEST)


def ggen_scenarios(ggen, tmp, quick):
    rows = []
    sync = [ggen, "sync", "-q"]
    seed = os.path.join(tmp, "seed")
    subprocess.run([ggen, "init", "--lang", "erlang", "--name", "my_erlang_jobs", seed],
                   check=True, capture_output=True)
    generated = ["README.md", "src", "test", "bench", "rebar.config"]
    rows.append(measure("seed: first sync", 15, clean(seed, generated), sync, seed))
    run(sync, seed)
    rows.append(measure("seed: no-op", 15, nothing, sync, seed))

    big = os.path.join(tmp, "10k")
    ten_thousand_pools(ggen, big)
    rows.append(measure("10k pools: first sync (10,000 files)", 3, clean(big, ["pools"]), sync, big))
    run(sync, big)
    rows.append(measure("10k pools: no-op", 3, nothing, sync, big))
    rows.append(measure("10k pools: one pool edited", 3, edit_one_pool(big), sync, big))
    if quick:
        return rows

    huge = os.path.join(tmp, "100k")
    hundred_thousand_pools(ggen, huge)
    generated = ["README.md", "Cargo.toml", "src", "tests", "benches", "examples"]
    rows.append(measure("100k pools: first sync", 3, clean(huge, generated), sync, huge))
    run(sync, huge)
    rows.append(measure("100k pools: no-op", 3, nothing, sync, huge))
    rows.append(measure("100k pools: one pool edited", 3, edit_one_pool(huge), sync, huge))
    return rows


def generic_scenario(tmp):
    project = os.path.join(tmp, "generic")
    generic(project)
    out = os.path.join(project, "bare.tsv")
    ggen = measure("ggen sync", 3, clean(project, ["out"]), [GGEN, "sync", "-q"], project)
    bare = measure("bare oxigraph", 3, nothing,
                   [BARE, "data.ttl", "items.rq", out], project)
    return ggen, bare


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="another ggen binary to measure in the same run")
    parser.add_argument("--quick", action="store_true", help="the seed and 10k scenarios only")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "ggen",
                    "--example", "oxigraph_baseline"], cwd=ROOT, check=True)
    builds = [("this build", GGEN)] + ([("baseline", args.baseline)] if args.baseline else [])
    versions = {label: subprocess.run([ggen, "--version"], capture_output=True, text=True).stdout.strip()
                for label, ggen in builds}
    with tempfile.TemporaryDirectory(prefix="ggen-bench-") as tmp:
        results = {}
        for i, (label, ggen) in enumerate(builds):
            os.makedirs(os.path.join(tmp, f"b{i}"))
            results[label] = ggen_scenarios(ggen, os.path.join(tmp, f"b{i}"), args.quick)
        generic_rows = None if args.quick else generic_scenario(tmp)

    print(", ".join(f"{label}: {versions[label]}" for label, _ in builds)
          + f"; {os.cpu_count()} CPUs; load average before the run {os.getloadavg()[0]:.2f};"
          + " `python3 bench/sync_bench.py" + (" --baseline …`" if args.baseline else "`") + "\n")
    print("| scenario | build | median wall | slowest | peak RSS |")
    print("|---|---|---:|---:|---:|")
    for i, (label, _, _, _) in enumerate(results["this build"]):
        for build, _ in builds:
            _, median, worst, rss = results[build][i]
            print(f"| {label} | {build} | {median * 1e3:.1f} ms | {worst * 1e3:.1f} ms | {rss:.1f} MiB |")
    if generic_rows:
        (_, g_med, g_worst, g_rss), (_, b_med, b_worst, b_rss) = generic_rows
        print(f"\n| 1M triples ({ITEMS:,} items, one rule, one output) | median wall | slowest | peak RSS |")
        print("|---|---:|---:|---:|")
        print(f"| ggen sync (first) | {g_med * 1e3:.1f} ms | {g_worst * 1e3:.1f} ms | {g_rss:.1f} MiB |")
        print(f"| bare oxigraph: load, query, write | {b_med * 1e3:.1f} ms | {b_worst * 1e3:.1f} ms | {b_rss:.1f} MiB |")
        print(f"| ratio ggen / bare | {g_med / b_med:.2f}× | | {g_rss / b_rss:.2f}× |")


if __name__ == "__main__":
    main()
