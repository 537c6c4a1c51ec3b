"""Reading a reference dataset (the team's training set) of 1,000,000 rows into keys.

    python benchmarks/reference.py --rows 1000000

A training set of `--rows` Banking77 queries (each copy varied by a word, so every row is a distinct input) is
written as CSV and as Parquet; each file is read by `read_keys`, as an upload is, in a fresh
process so that its peak resident memory is its own. Baseline in the same run: pandas reading
the same column of the same file (no keys), also in a fresh process.
"""

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, machine, peak_rss_mb, report  # noqa: E402

TRAIN = ROOT / "feedback" / "demo_data" / "banking77" / "train.csv"


def _word(n: int) -> str:
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return "ref" + letters


def write_files(rows: int, folder: Path) -> dict[str, Path]:
    import pandas as pd

    with open(TRAIN, newline="", encoding="utf-8") as handle:
        texts = [row[0] for row in csv.reader(handle)][1:]
    # Numbers do not count in a key: a word tells the copies of a query apart.
    column = [f"{texts[i % len(texts)]} {_word(i // len(texts))}" for i in range(rows)]
    frame = pd.DataFrame({"text": column, "label": "x"})
    paths = {"csv": folder / "train.csv", "parquet": folder / "train.parquet"}
    frame.to_csv(paths["csv"], index=False)
    frame.to_parquet(paths["parquet"])
    return paths


def child(kind: str, path: str, how: str) -> dict:
    start = time.perf_counter()
    if how == "baseline":
        import pandas as pd

        reader = pd.read_csv if kind == "csv" else pd.read_parquet
        options = {"usecols": ["text"]} if kind == "csv" else {"columns": ["text"]}
        rows, keys = len(reader(path, **options)), None
    else:
        from triage.exports.reference import read_keys

        with open(path, "rb") as raw:
            result = read_keys(raw, kind=kind, column="text")
        rows, keys = result.rows, len(result.keys)
    seconds = time.perf_counter() - start
    return {
        "file": kind,
        "read by": "pandas (baseline)" if how == "baseline" else "read_keys",
        "file_mb": round(Path(path).stat().st_size / 1e6, 1),
        "rows": rows,
        "keys": keys,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    results = []
    with tempfile.TemporaryDirectory() as folder:
        paths = write_files(args.rows, Path(folder))
        for kind, path in paths.items():
            for how in ("baseline", "keys"):
                output = subprocess.run(
                    [sys.executable, __file__, "--child", kind, str(path), how],
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                results.append(json.loads(output.strip().splitlines()[-1]))
                print(json.dumps(results[-1]), flush=True)
    figures = {"machine": machine(), "rows": args.rows, "results": results}
    report(figures, args.json)


if __name__ == "__main__":
    main()
