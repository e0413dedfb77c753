"""What the Python layer and Ray cost: the same simulation from the command line, from Python
and split into shards on a local Ray cluster, each timed (best of `--repeat`), in paths·months
per second. Run against release builds:

    cargo build --release
    pip install ./python/bitwatt-py "ray==2.60.0"
    python python/bitwatt-py/bench.py --cli target/release/bitwatt --paths 20000

The results go in BENCHMARKS.md with the machine.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import time

import bitwatt


def best_of(repeat, run):
    """The shortest wall time of `repeat` runs of `run()` (seconds), and its last value."""
    best, value = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        value = run()
        best = min(best, time.perf_counter() - began)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", default="target/release/bitwatt")
    parser.add_argument("--example", default="pivot-miner")
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shards", default="1,2,4,8")
    args = parser.parse_args()

    scenario = bitwatt.example(args.example)
    months = bitwatt.project(scenario)["horizon_months"]
    work = args.paths * months
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.example}, {args.paths:,} paths × {months} months, {args.threads} threads")

    def cli_run():
        out = subprocess.run(
            [args.cli, "simulate", "--example", args.example, "--paths", str(args.paths),
             "--threads", str(args.threads), "--json", "--no-history", "--quiet"],
            capture_output=True, text=True, check=True,
        )
        document = json.loads(out.stdout)
        return document.pop("run")["seconds"], document

    cli_wall, (cli_engine, cli_document) = best_of(args.repeat, cli_run)
    cli_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    py_wall, result = best_of(
        args.repeat,
        lambda: bitwatt.simulate(scenario, paths=args.paths, threads=args.threads),
    )
    py_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert result.summary == cli_document, "Python and the command line disagree"
    rate = lambda seconds: f"{work / seconds / 1e6:6.2f} M paths·months/s"
    print(f"command line, process wall {cli_wall:7.2f} s  {rate(cli_wall)}  "
          f"(engine {cli_engine:.2f} s; peak RSS {cli_rss:.0f} MiB)")
    print(f"Python                     {py_wall:7.2f} s  {rate(py_wall)}  "
          f"(× {py_wall / cli_wall:.3f} of the command line; peak RSS {py_rss:.0f} MiB)")

    import ray

    ray.init(num_cpus=args.threads, include_dashboard=False, log_to_driver=False)

    @ray.remote(num_cpus=1)
    def shard(k, n):
        return bitwatt.simulate(scenario, paths=args.paths, shard=(k, n))

    ray.get([shard.remote(1, 1)])  # the workers started and the module imported once
    for count in (int(n) for n in args.shards.split(",")):
        wall, merged = best_of(
            args.repeat,
            lambda: bitwatt.merge(ray.get([shard.remote(k, count) for k in range(1, count + 1)])),
        )
        assert merged == result, "the merged shards differ from the single-process run"
        print(f"Ray, {count} shards               {wall:7.2f} s  {rate(wall)}  "
              f"(× {wall / py_wall:.2f} of one process; identical result)")
    ray.shutdown()


if __name__ == "__main__":
    main()
