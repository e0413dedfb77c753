"""A lender's book (bitwatt portfolio) split by paths into shards run as Ray tasks, merged,
and checked against the single-process run bit for bit.

    pip install ./python/bitwatt-py "ray==2.60.0"
    python examples/ray_portfolio.py                      # the example book, a local cluster
    python examples/ray_portfolio.py --address auto --book my-book.toml --paths 100000 --shards 32

Each task needs the `bitwatt` wheel and the book: the book file and the scenario files it
names are read here and sent with the task as texts, written out on the worker.
"""

import argparse
import tempfile
import time
import tomllib
from pathlib import Path

import ray

import bitwatt

EXAMPLE_BOOK = Path(__file__).resolve().parent / "book" / "compute-credit.toml"


def book_files(book_path: Path) -> dict:
    """The book file and every scenario file it names, as texts by name relative to the
    book's folder: what a task needs to run the book on a worker with no shared files."""
    book = tomllib.loads(book_path.read_text())
    names = {book_path.name}
    names.update(b["scenario"] for b in book.get("borrower", []) if "scenario" in b)
    if "market" in book:
        names.add(book["market"])
    return {name: (book_path.parent / name).read_text() for name in sorted(names)}


def run_book(files: dict, book_name: str, **options):
    """`bitwatt.portfolio` on the book written out with its scenario files."""
    with tempfile.TemporaryDirectory() as folder:
        for name, text in files.items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return bitwatt.portfolio(Path(folder) / book_name, **options)


@ray.remote(num_cpus=1)
def portfolio_shard(files: dict, book_name: str, paths: int, seed: int, index: int, count: int):
    """One shard of the book's paths, on the CPUs Ray gives the task."""
    return run_book(files, book_name, paths=paths, seed=seed, shard=(index, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="a Ray cluster's address (default: start a local one)")
    parser.add_argument("--book", type=Path, default=EXAMPLE_BOOK)
    parser.add_argument("--paths", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--no-check", action="store_true", help="skip the single-process run")
    args = parser.parse_args()

    files = book_files(args.book)
    ray.init(address=args.address)
    began = time.perf_counter()
    tasks = [
        portfolio_shard.remote(files, args.book.name, args.paths, args.seed, k, args.shards)
        for k in range(1, args.shards + 1)
    ]
    result = bitwatt.merge(ray.get(tasks))
    on_ray = time.perf_counter() - began
    print(f"{result['book']}: {args.paths:,} paths in {args.shards} Ray tasks, {on_ray:.1f} s")
    print(result.borrowers.filter(like="pd").head(10).to_string())
    if not args.no_check:
        local = bitwatt.portfolio(args.book, paths=args.paths, seed=args.seed)
        assert result == local, "the merged shards differ from the single-process run"
        print("identical to the single-process run")
    ray.shutdown()


if __name__ == "__main__":
    main()
