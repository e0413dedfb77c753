"""Sharded runs on a local Ray cluster of two workers equal the single-process runs, bit for
bit, with the tasks of `examples/ray_simulate.py` and `examples/ray_portfolio.py`. Needs Ray
(skipped without it, unless BITWATT_REQUIRE_RAY=1, as in CI)."""

import importlib.util
import os
from pathlib import Path

import pytest

import bitwatt

if os.environ.get("BITWATT_REQUIRE_RAY") == "1":
    import ray
else:
    ray = pytest.importorskip("ray")

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def example_module(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_simulation_shards_on_ray_equal_the_local_run(cluster):
    tasks = example_module("ray_simulate")
    scenario = bitwatt.example("pivot-miner")
    shards = ray.get(
        [tasks.simulate_shard.remote(scenario, 2_000, 9, k, 4) for k in range(1, 5)]
    )
    assert sorted(shard.index for shard in shards) == [1, 2, 3, 4]
    assert bitwatt.merge(shards) == bitwatt.simulate(scenario, paths=2_000, seed=9)


def test_book_shards_on_ray_equal_the_local_run(cluster):
    tasks = example_module("ray_portfolio")
    book = tasks.EXAMPLE_BOOK
    files = tasks.book_files(book)
    shards = ray.get(
        [tasks.portfolio_shard.remote(files, book.name, 512, 3, k, 3) for k in range(1, 4)]
    )
    assert bitwatt.merge(shards) == bitwatt.portfolio(book, paths=512, seed=3)
