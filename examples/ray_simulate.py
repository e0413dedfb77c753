"""A bitwatt Monte Carlo split into shards run as Ray tasks, merged, and checked against the
single-process run bit for bit.

    pip install ./python/bitwatt-py "ray==2.60.0"
    python examples/ray_simulate.py                       # a local Ray cluster
    python examples/ray_simulate.py --address auto        # the cluster this machine is in
    python examples/ray_simulate.py --scenario my.toml --paths 1000000 --shards 64 --no-check

Each task needs the `bitwatt` wheel installed on its worker and the scenario, which travels
with the task as TOML text (no shared file system needed). A shard comes back as text that
holds what an exact merge needs (counts, moments, sketches and the worst paths by loss: about
1-2 MB whatever its paths); the merge runs where the script runs.
"""

import argparse
import time

import ray

import bitwatt


@ray.remote(num_cpus=1)
def simulate_shard(scenario: str, paths: int, seed: int, index: int, count: int) -> bitwatt.Shard:
    """One shard, on the CPUs Ray gives the task (bitwatt reads OMP_NUM_THREADS)."""
    return bitwatt.simulate(scenario, paths=paths, seed=seed, shard=(index, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="a Ray cluster's address (default: start a local one)")
    parser.add_argument("--scenario", help="scenario file (default: the built-in pivot-miner)")
    parser.add_argument("--paths", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--no-check", action="store_true", help="skip the single-process run")
    args = parser.parse_args()

    scenario = open(args.scenario).read() if args.scenario else bitwatt.example("pivot-miner")
    ray.init(address=args.address)
    began = time.perf_counter()
    tasks = [
        simulate_shard.remote(scenario, args.paths, args.seed, k, args.shards)
        for k in range(1, args.shards + 1)
    ]
    result = bitwatt.merge(ray.get(tasks))
    on_ray = time.perf_counter() - began
    pd = result["cumulative_pd_by_year"][-1]["pd"]
    loss = result["expected_loss_usd"]
    print(f"{result['scenario']}: {args.paths:,} paths in {args.shards} Ray tasks, {on_ray:.1f} s")
    print(f"  PD to the horizon {pd['value']:.2%} ± {pd['standard_error']:.2%}")
    print(f"  expected loss ${loss['value'] / 1e6:,.2f} m ± {loss['standard_error'] / 1e6:,.2f} m")
    if not args.no_check:
        began = time.perf_counter()
        local = bitwatt.simulate(scenario, paths=args.paths, seed=args.seed)
        seconds = time.perf_counter() - began
        assert result == local, "the merged shards differ from the single-process run"
        print(f"  identical to the single-process run ({seconds:.1f} s)")
    ray.shutdown()


if __name__ == "__main__":
    main()
