"""The Python API against the command line: the same documents, number for number, on the
built-in examples and the example book; errors with the command line's messages; shard
results that pickle and merge into exactly the unsharded run."""

import json
import os
import pickle
import random
import subprocess
import threading
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import bitwatt

ROOT = Path(__file__).resolve().parents[3]
BOOK = ROOT / "examples" / "book" / "compute-credit.toml"
BAD_SCENARIO = ROOT / "crates" / "cli" / "tests" / "data" / "bad_scenario_out_of_range.toml"
EXAMPLES = ("pivot-miner", "neocloud-abl", "pure-miner")


def cli() -> str:
    """The command line: $BITWATT_CLI, else the workspace's release or debug build."""
    named = os.environ.get("BITWATT_CLI")
    candidates = [Path(named)] if named else [
        ROOT / "target" / "release" / "bitwatt",
        ROOT / "target" / "debug" / "bitwatt",
    ]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    pytest.fail("no bitwatt binary: run `cargo build` or set BITWATT_CLI")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli(), *args, "--no-history"], capture_output=True, text=True, check=False
    )


def cli_document(*args: str) -> dict:
    """The document `bitwatt ARGS --json` prints, without `run` (the machine's)."""
    out = run_cli(*args, "--json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    document.pop("run", None)
    return document


@pytest.mark.parametrize("name", EXAMPLES)
def test_project_matches_the_command_line(name):
    result = bitwatt.project(bitwatt.example(name))
    assert result.summary == cli_document("project", "--example", name)
    months = result.monthly
    assert isinstance(months, pd.DataFrame)
    assert len(months) == result["horizon_months"]
    assert {"cfads_usd", "cash_usd", "btc_price_usd"} <= set(months.columns)


def test_project_under_a_stress_matches_the_command_line():
    result = bitwatt.project(bitwatt.example("pivot-miner"), stresses=["hashprice-collapse"])
    assert result.summary == cli_document(
        "project", "--example", "pivot-miner", "--stress", "hashprice-collapse"
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_simulate_matches_the_command_line(name):
    # Any thread count gives the same result: two here, one on the command line.
    result = bitwatt.simulate(bitwatt.example(name), paths=400, seed=7, threads=2)
    expected = cli_document(
        "simulate", "--example", name, "--paths", "400", "--seed", "7", "--threads", "1"
    )
    assert result.summary == expected
    fans = result.fans
    assert list(fans.columns) == ["series", "month_index", "paths", "q05", "q25", "q50", "q75", "q95"]
    assert set(fans["series"]) == {fan["series"] for fan in expected["fans"]}


def test_a_scenario_is_a_path_a_toml_string_or_a_dict():
    path = ROOT / "examples" / "pure-miner.toml"
    text = path.read_text()
    by_path = bitwatt.simulate(path, paths=300, seed=3)
    assert bitwatt.simulate(str(path), paths=300, seed=3) == by_path
    assert bitwatt.simulate(text, paths=300, seed=3) == by_path
    assert bitwatt.simulate(tomllib.loads(text), paths=300, seed=3) == by_path
    assert by_path.summary == cli_document("simulate", str(path), "--paths", "300", "--seed", "3")


def test_portfolio_matches_the_command_line():
    result = bitwatt.portfolio(BOOK, paths=300, seed=5, threads=2)
    assert result.summary == cli_document(
        "portfolio", str(BOOK), "--paths", "300", "--seed", "5", "--threads", "1"
    )
    borrowers = result.borrowers
    assert len(borrowers) == len(tomllib.loads(BOOK.read_text())["borrower"])
    independent = bitwatt.portfolio(BOOK, paths=300, seed=5, independent_liquidation=True)
    assert independent["liquidation"] == "independent"


@pytest.mark.parametrize("count", [1, 2, 3])
def test_merged_shards_equal_the_unsharded_run(count):
    scenario = bitwatt.example("pivot-miner")
    whole = bitwatt.simulate(scenario, paths=500, seed=11)
    shards = [bitwatt.simulate(scenario, paths=500, seed=11, shard=(k, count)) for k in range(1, count + 1)]
    random.Random(count).shuffle(shards)
    # Each shard crosses a process boundary as a pickle.
    shards = [pickle.loads(pickle.dumps(shard)) for shard in shards]
    assert [isinstance(shard, bitwatt.Shard) for shard in shards] == [True] * count
    assert bitwatt.merge(shards) == whole


@pytest.mark.parametrize("count", [1, 2, 3])
def test_merged_book_shards_equal_the_unsharded_run(count):
    whole = bitwatt.portfolio(BOOK, paths=256, seed=2)
    shards = [bitwatt.portfolio(BOOK, paths=256, seed=2, shard=(k, count)) for k in range(1, count + 1)]
    shards = [pickle.loads(pickle.dumps(shard)) for shard in reversed(shards)]
    assert bitwatt.merge(shards) == whole


def test_command_line_shard_files_merge_with_python_shards(tmp_path):
    scenario = ROOT / "examples" / "pure-miner.toml"
    out = tmp_path / "shard-1.json"
    done = run_cli("simulate", str(scenario), "--paths", "300", "--seed", "4", "--shard", "1/2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    second = bitwatt.simulate(scenario, paths=300, seed=4, shard=(2, 2))
    merged = bitwatt.merge([bitwatt.Shard.read(out), second])
    assert merged == bitwatt.simulate(scenario, paths=300, seed=4)


def cli_error(*args: str) -> str:
    """What the command line says on standard error, without its `error: ` prefixes."""
    out = run_cli(*args)
    assert out.returncode == 2
    return "\n".join(line.removeprefix("error: ") for line in out.stderr.strip().splitlines())


def test_an_invalid_scenario_raises_the_command_lines_message():
    with pytest.raises(ValueError) as raised:
        bitwatt.simulate(BAD_SCENARIO, paths=10)
    assert str(raised.value) == cli_error("simulate", str(BAD_SCENARIO), "--paths", "10")
    assert "debt[0].margin_bps = -5000.5" in str(raised.value)


def test_bad_arguments_raise_value_errors():
    scenario = bitwatt.example("pure-miner")
    with pytest.raises(ValueError) as raised:
        bitwatt.project(scenario, stresses=["nope"])
    assert str(raised.value) == cli_error("project", "--example", "pure-miner", "--stress", "nope")
    with pytest.raises(ValueError, match="paths 0: expected a whole number of at least 1"):
        bitwatt.simulate(scenario, paths=0)
    with pytest.raises(ValueError, match="seed -1: expected a whole number of at least 0"):
        bitwatt.simulate(scenario, paths=10, seed=-1)
    with pytest.raises(ValueError, match="threads 0: expected a whole number of at least 1"):
        bitwatt.portfolio(BOOK, paths=10, threads=0)
    with pytest.raises(ValueError, match="paths 2.5: expected a whole number"):
        bitwatt.portfolio(BOOK, paths=2.5)
    with pytest.raises(ValueError, match=r"shard \(3, 2\): expected \(k, n\)"):
        bitwatt.simulate(scenario, paths=10, shard=(3, 2))
    with pytest.raises(ValueError, match="shard index 0: expected a whole number of at least 1"):
        bitwatt.simulate(scenario, paths=10, shard=(0, 2))
    with pytest.raises(ValueError, match="cannot read scenario file"):
        bitwatt.simulate("no-such-file.toml", paths=10)
    with pytest.raises(ValueError, match="expected one of"):
        bitwatt.example("no-such-example")


def test_shards_of_different_runs_do_not_merge():
    scenario = bitwatt.example("pure-miner")
    first = bitwatt.simulate(scenario, paths=200, seed=1, shard=(1, 2))
    other = bitwatt.simulate(scenario, paths=200, seed=2, shard=(2, 2))
    with pytest.raises(ValueError, match="another fingerprint"):
        bitwatt.merge([first, other])
    with pytest.raises(ValueError, match="cannot merge: 1 of 2 shards given"):
        bitwatt.merge([first])
    book = bitwatt.portfolio(BOOK, paths=64, seed=1, shard=(1, 1))
    with pytest.raises(ValueError, match="cannot merge shards of `simulate` with shards of `portfolio`"):
        bitwatt.merge([first, book])


def test_threads_follow_the_callers_allotment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert bitwatt._default_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert bitwatt._default_threads() == len(os.sched_getaffinity(0))


def test_the_engine_runs_with_the_interpreter_released():
    # A Python thread counts while the engine runs: had the call held the interpreter, the
    # count could not move between the snapshots around it.
    count, stop = [0], threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        before = count[0]
        bitwatt.simulate(bitwatt.example("pivot-miner"), paths=500, seed=1, threads=1)
        during = count[0] - before
    finally:
        stop.set()
        thread.join()
    assert during > 10_000, during
