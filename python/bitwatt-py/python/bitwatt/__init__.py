"""bitwatt from Python: the credit risk of Bitcoin miners, AI data centres and their debt.

The same engine as the ``bitwatt`` command line, with the same results bit for bit::

    import bitwatt

    scenario = bitwatt.example("pivot-miner")          # or a path, a TOML string, a dict
    base = bitwatt.project(scenario)
    base.monthly[["cfads_usd", "cash_usd"]].head()     # the monthly waterfall, a DataFrame

    run = bitwatt.simulate(scenario, paths=20_000, seed=7)
    run.summary["expected_loss_usd"]                   # the credit metrics, a dict
    run.fans.query("series == 'dscr'")                 # percentile fans, a DataFrame

    # The same run in three shards (three processes, machines or Ray tasks), merged:
    shards = [bitwatt.simulate(scenario, paths=20_000, seed=7, shard=(k, 3)) for k in (1, 2, 3)]
    assert bitwatt.merge(shards) == run

A scenario is a path to a TOML file, TOML text, or a dictionary of the file's tables. An
invalid one raises ``ValueError`` with the message the command line prints. The engine runs
with the interpreter released, on as many threads as the caller is allotted
(``OMP_NUM_THREADS`` where set, as Ray sets it for a task; else the CPUs the process may use).
"""

from __future__ import annotations

import json
import operator
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd

from . import _native

__version__: str = _native.__version__

__all__ = [
    "Result",
    "Shard",
    "example",
    "merge",
    "portfolio",
    "project",
    "simulate",
]

#: The percentiles of the fans (``Result.fans``), as fractions.
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

Scenario = Union[str, os.PathLike, Mapping[str, Any]]


def example(name: str) -> str:
    """The TOML text of a built-in example: ``pivot-miner``, ``neocloud-abl`` or ``pure-miner``."""
    return _native.example(name)


def _default_threads() -> int:
    """The caller's CPU allotment: ``OMP_NUM_THREADS`` where set, else the usable CPUs."""
    allotted = os.environ.get("OMP_NUM_THREADS", "")
    if allotted.isdigit() and int(allotted) > 0:
        return int(allotted)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _threads(threads: Optional[int]) -> int:
    """`threads` where given, else the caller's allotment."""
    return _default_threads() if threads is None else _whole("threads", threads, 1)


def _text_of(document: Union[Scenario, Any], kind: str) -> Tuple[str, str, str]:
    """(TOML text, the name errors give it, the folder relative paths start from)."""
    if isinstance(document, Mapping):
        return _native.toml_of_json(json.dumps(document)), f"<{kind}>", os.getcwd()
    if isinstance(document, os.PathLike) or (
        isinstance(document, str) and "\n" not in document and "=" not in document
    ):
        path = Path(document)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(f"cannot read {kind} file {path}: {error.strerror}") from None
        return text, str(path), str(path.parent)
    if isinstance(document, str):
        return document, f"<{kind}>", os.getcwd()
    raise TypeError(f"a {kind} is a path, TOML text or a dict, not {type(document).__name__}")


def _shard(shard: Optional[Tuple[int, int]]) -> Tuple[int, int]:
    if shard is None:
        return 1, 1
    index, count = shard
    return _whole("shard index", index, 1), _whole("shard count", count, 1)


def _whole(name: str, value: Any, least: int) -> int:
    """`value` (any integer type, numpy's included) as an int of at least `least`, else a
    ValueError naming it."""
    try:
        whole = None if isinstance(value, bool) else operator.index(value)
    except TypeError:
        whole = None
    if whole is None or whole < least:
        raise ValueError(f"{name} {value!r}: expected a whole number of at least {least}")
    return whole


class Result:
    """A run's result: the document ``bitwatt <command> --json`` prints, without ``run``.

    ``summary`` is the document as a dict; ``monthly`` (``project``), ``fans`` (``simulate``)
    and ``borrowers`` (``portfolio``) are its tables as DataFrames; ``to_json()`` is the
    document as JSON text.
    """

    def __init__(self, command: str, text: str):
        self.command = command
        self._text = text
        self._document = json.loads(text)

    @property
    def summary(self) -> dict:
        """The whole document as a dict (a copy)."""
        return json.loads(self._text)

    def __getitem__(self, key: str) -> Any:
        return self._document[key]

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The document as JSON text (indented as the command line prints it)."""
        return json.dumps(self._document, indent=indent)

    @property
    def monthly(self) -> pd.DataFrame:
        """``project``: one row a month of the waterfall, every source and use (USD)."""
        if self.command != "project":
            raise AttributeError(f"a {self.command} result has no monthly table")
        return pd.DataFrame(self._document["months"]).set_index("month")

    @property
    def fans(self) -> pd.DataFrame:
        """``simulate``: each series' percentiles month by month, one row a series and month
        (columns ``series``, ``month_index``, ``paths``, ``q05`` … ``q95``)."""
        if self.command != "simulate":
            raise AttributeError(f"a {self.command} result has no fans")
        names = [f"q{round(q * 100):02d}" for q in FAN_QUANTILES]
        rows = []
        for fan in self._document["fans"]:
            for month, (quantiles, paths) in enumerate(
                zip(fan["quantiles_by_month"], fan["paths_by_month"])
            ):
                row = {"series": fan["series"], "month_index": month, "paths": paths}
                row.update(zip(names, quantiles or [float("nan")] * len(names)))
                rows.append(row)
        return pd.DataFrame(rows)

    @property
    def borrowers(self) -> pd.DataFrame:
        """``portfolio``: one row a borrower (PD, LGD, expected loss, ES contribution …)."""
        if self.command != "portfolio":
            raise AttributeError(f"a {self.command} result has no borrowers")
        return pd.json_normalize(self._document["borrowers"]).set_index("name")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Result)
            and self.command == other.command
            and self._document == other._document
        )

    def __repr__(self) -> str:
        name = self._document.get("scenario") or self._document.get("book")
        return f"<bitwatt.Result of {self.command} {name!r}>"


class Shard:
    """One shard of a ``simulate`` or ``portfolio`` run: plain text, so it pickles and
    crosses process boundaries; ``merge`` turns shards of one run into its result. The same
    document as ``--shard k/n --out FILE`` writes (``Shard.read(FILE)`` reads one)."""

    def __init__(self, command: str, text: str):
        self.command = command
        self.text = text

    @classmethod
    def read(cls, path: Union[str, os.PathLike]) -> "Shard":
        """A shard file written by the command line."""
        text = Path(path).read_text(encoding="utf-8")
        fmt = json.loads(text).get("format", "")
        return cls("portfolio" if "portfolio" in fmt else "simulate", text)

    def _result(self) -> dict:
        return json.loads(self.text)["result"]

    @property
    def index(self) -> int:
        """This shard's number, from 1."""
        return self._result()["shard"]["index"]

    @property
    def count(self) -> int:
        """Shards in the run."""
        return self._result()["shard"]["count"]

    def to_json(self) -> str:
        """The shard document as JSON text."""
        return self.text

    def __repr__(self) -> str:
        return f"<bitwatt.Shard {self.index}/{self.count} of {self.command}>"


def project(scenario: Scenario, *, stresses: Sequence[str] = ()) -> Result:
    """The deterministic projection of ``scenario`` (``bitwatt project``), under ``stresses``
    (``name`` or ``name@YYYY-MM``)."""
    text, source, _ = _text_of(scenario, "scenario")
    return Result("project", _native.project(text, source, list(stresses)))


def simulate(
    scenario: Scenario,
    *,
    paths: int = 100_000,
    seed: int = 1,
    shard: Optional[Tuple[int, int]] = None,
    stresses: Sequence[str] = (),
    threads: Optional[int] = None,
) -> Union[Result, Shard]:
    """The Monte Carlo of ``scenario`` (``bitwatt simulate``): a ``Result``, or with
    ``shard=(k, n)`` the k-th of n shards of the run, to ``merge`` with the others."""
    text, source, _ = _text_of(scenario, "scenario")
    index, count = _shard(shard)
    document = _native.simulate_shard(
        text,
        source,
        _whole("paths", paths, 1),
        _whole("seed", seed, 0),
        index,
        count,
        list(stresses),
        _threads(threads),
    )
    piece = Shard("simulate", document)
    return piece if shard is not None else merge([piece])


def portfolio(
    book: Scenario,
    *,
    paths: int = 10_000,
    seed: int = 1,
    shard: Optional[Tuple[int, int]] = None,
    stresses: Sequence[str] = (),
    independent_liquidation: bool = False,
    threads: Optional[int] = None,
) -> Union[Result, Shard]:
    """The Monte Carlo of a lender's book (``bitwatt portfolio``): a path to a book file (its
    scenario files are found beside it), TOML text or a dict; a ``Result``, or with
    ``shard=(k, n)`` a ``Shard``."""
    text, source, base_dir = _text_of(book, "book")
    index, count = _shard(shard)
    document = _native.portfolio_shard(
        text,
        source,
        base_dir,
        _whole("paths", paths, 1),
        _whole("seed", seed, 0),
        index,
        count,
        list(stresses),
        bool(independent_liquidation),
        _threads(threads),
    )
    piece = Shard("portfolio", document)
    return piece if shard is not None else merge([piece])


def merge(shards: Iterable[Shard]) -> Result:
    """The result of a run from all its shards (any order): exactly the unsharded result.
    Shards of different runs, missing or repeated, raise ``ValueError``."""
    shards = list(shards)
    commands = {shard.command for shard in shards}
    if len(commands) > 1:
        raise ValueError("cannot merge shards of `simulate` with shards of `portfolio`")
    if not shards:
        raise ValueError("no shard to merge")
    texts = [shard.text for shard in shards]
    if commands == {"portfolio"}:
        return Result("portfolio", _native.merge_portfolio(texts))
    return Result("simulate", _native.merge_simulation(texts))
