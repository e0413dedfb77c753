//! `bitwatt portfolio`: the example book runs, the same seed gives the same result on any
//! number of threads, the shared fire sale never makes the book lose less, and bad books are
//! refused.

use serde_json::Value;

use super::{bitwatt, scratch};

const BOOK: &str = "examples/book/compute-credit.toml";

/// `portfolio --json` without its `run` key.
fn result(args: &[&str]) -> Value {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut value: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    value
        .as_object_mut()
        .unwrap()
        .remove("run")
        .expect("a run key");
    value
}

#[test]
fn the_example_book_is_the_same_on_any_threads_and_the_fire_sale_costs() {
    let one = result(&[
        "portfolio",
        BOOK,
        "--paths",
        "600",
        "--seed",
        "3",
        "--threads",
        "1",
        "--json",
    ]);
    let two = result(&[
        "portfolio",
        BOOK,
        "--paths",
        "600",
        "--seed",
        "3",
        "--threads",
        "2",
        "--json",
    ]);
    assert_eq!(one, two);
    assert_eq!(one["paths"], 600);
    assert_eq!(one["borrowers"].as_array().unwrap().len(), 9);
    let shared = one["shared"]["expected_loss_usd"]["value"]
        .as_f64()
        .unwrap();
    let independent = one["independent"]["expected_loss_usd"]["value"]
        .as_f64()
        .unwrap();
    assert!(shared >= independent, "{shared} < {independent}");
    let add_on = one["fire_sale_add_on"]["expected_loss_usd"]["value"]
        .as_f64()
        .unwrap();
    assert!((add_on - (shared - independent)).abs() <= 1e-6 * shared.max(1.0));
    // The summary reports the liquidation asked for.
    let out = bitwatt(&[
        "portfolio",
        BOOK,
        "--paths",
        "600",
        "--independent-liquidation",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("independent liquidation"), "{text}");
    assert!(text.contains("Fire-sale add-on: ES 99.0 %"), "{text}");
}

#[test]
fn a_bad_book_is_refused() {
    let out = bitwatt(&["portfolio", "crates/cli/tests/data/bad_book.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("problems in"));
    let out = bitwatt(&["portfolio", BOOK, "--paths", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Shards 1..n/n of the example book (1 100 paths: two chunks) merge, in any order, into
/// exactly the unsharded result; a simulate shard does not merge with a book's.
#[test]
fn book_shards_merge_into_exactly_the_unsharded_result() {
    let dir = scratch("portfolio-shards");
    let common = [
        "--paths",
        "1100",
        "--seed",
        "4",
        "--stress",
        "hashprice-collapse",
    ];
    let mut whole_args = vec!["portfolio", BOOK, "--json"];
    whole_args.extend(common);
    let whole = result(&whole_args);
    for n in [1_u64, 2, 3] {
        let files: Vec<String> = (1..=n)
            .rev()
            .map(|k| {
                let file = dir.join(format!("book-{k}-of-{n}.json"));
                let file = file.to_str().unwrap().to_string();
                let shard = format!("{k}/{n}");
                let mut args = vec!["portfolio", BOOK, "--shard", &shard, "--out", &file];
                args.extend(common);
                let out = bitwatt(&args);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                file
            })
            .collect();
        let mut args = vec!["merge", "--json"];
        args.extend(files.iter().map(String::as_str));
        assert_eq!(result(&args), whole, "{n} shards");
    }
    let simulated = dir.join("simulated.json");
    let simulated = simulated.to_str().unwrap();
    let out = bitwatt(&[
        "simulate", "--paths", "100", "--shard", "1/1", "--out", simulated,
    ]);
    assert!(out.status.success());
    let book = dir.join("book-1-of-1.json");
    let out = bitwatt(&["merge", simulated, book.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot merge shards of `simulate`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
