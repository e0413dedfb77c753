"""Types of the compiled engine (`bitwatt._native`): text in, JSON text out."""

from typing import List

__version__: str

def example(name: str) -> str: ...
def toml_of_json(json: str) -> str: ...
def project(scenario_toml: str, source: str, stresses: List[str]) -> str: ...
def simulate_shard(
    scenario_toml: str,
    source: str,
    paths: int,
    seed: int,
    shard_index: int,
    shard_count: int,
    stresses: List[str],
    threads: int,
) -> str: ...
def merge_simulation(shards: List[str]) -> str: ...
def portfolio_shard(
    book_toml: str,
    source: str,
    base_dir: str,
    paths: int,
    seed: int,
    shard_index: int,
    shard_count: int,
    stresses: List[str],
    independent_liquidation: bool,
    threads: int,
) -> str: ...
def merge_portfolio(shards: List[str]) -> str: ...
