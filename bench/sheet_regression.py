"""Sheet-save regression check (issue 18): worker CPU per score-sheet save of this tree against a baseline
commit, measured by ``bench/load.py`` in one run, interleaved.

Run from the project root::

    .venv/bin/python bench/sheet_regression.py --database postgresql
    .venv/bin/python bench/sheet_regression.py --database sqlite --baseline 344eb61 --rounds 3

What it does:

1. checks the baseline out with ``git worktree add --detach`` in a temporary folder (and compiles its
   message catalogues, as ``make translations`` would; they are not committed);
2. runs ``bench/load.py`` of each tree with the same arguments (same database kind, judges, entries,
   concurrency, gunicorn workers), alternating baseline and current ``--rounds`` times, so that a noisy
   machine affects both alike; each load run builds its own fresh instance;
3. reads from each run's table the gunicorn workers' CPU per request of the back-to-back submission phase
   (``server CPU ms/req`` of ``submit sheet, back to back``), and of healthz as a control;
4. reports the median of each side and the ratio current / baseline; target ≤ 1.10 (within 10 %).

Every load run must also pass its own verification (every sheet stored once, as sent; audit chain
verifies); a run that does not is reported and the check fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUBMIT_ROW = "| submit sheet, back to back |"
HEALTHZ_ROW = "| healthz (no database) |"
TARGET = 1.10


@dataclass(frozen=True)
class Run:
    tree: str
    submit_cpu_ms: float
    healthz_cpu_ms: float
    submit_p99_ms: float
    ok: bool


def _cells(table: str, row: str) -> list[str]:
    for line in table.splitlines():
        if line.startswith(row):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    raise ValueError(f"no {row!r} row in the load benchmark's output:\n{table}")


def parse(tree: str, output: str, returncode: int) -> Run:
    """One load run's table: | requests | n | failed | req/s | p50 | p99 | max | server CPU ms/req | …"""
    submit = _cells(output, SUBMIT_ROW)
    healthz = _cells(output, HEALTHZ_ROW)
    return Run(
        tree=tree,
        submit_cpu_ms=float(submit[7]),
        healthz_cpu_ms=float(healthz[7]),
        submit_p99_ms=float(submit[5]),
        ok=returncode == 0 and "every submission stored exactly once, as sent" in output,
    )


def load_run(tree: Path, name: str, arguments: list[str]) -> Run:
    command = [sys.executable, str(tree / "bench" / "load.py"), *arguments]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=3600)
    if SUBMIT_ROW not in done.stdout:
        raise RuntimeError(f"{name}: load.py failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return parse(name, done.stdout, done.returncode)


def baseline_tree(commit: str, folder: Path) -> Path:
    tree = folder / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), commit], cwd=ROOT, check=True)
    (tree / ".venv").symlink_to(ROOT / ".venv")
    subprocess.run(  # as `make translations` does
        [sys.executable, "-m", "babel.messages.frontend", "compile", "--use-fuzzy", "-d", "judging/translations"],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="344eb61", help="the commit to compare with")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--judges", type=int, default=100)
    parser.add_argument("--entries", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="load runs of each tree, alternating")
    args = parser.parse_args()
    arguments = [
        "--database", args.database, "--judges", str(args.judges), "--entries", str(args.entries),
        "--concurrency", str(args.concurrency), "--workers", str(args.workers), "--paced-share", "0",
    ]  # fmt: skip
    (ROOT / "build").mkdir(exist_ok=True)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-regression-", dir=ROOT / "build") as scratch:
        baseline = baseline_tree(args.baseline, Path(scratch))
        try:
            for round_number in range(args.rounds):
                order = [("baseline", baseline), ("current", ROOT)]
                if round_number % 2:
                    order.reverse()  # neither side always runs first
                for name, tree in order:
                    run = load_run(tree, name, arguments)
                    runs.append(run)
                    print(
                        f"round {round_number + 1} {name}: submit {run.submit_cpu_ms:.2f} ms CPU/save, "
                        f"healthz {run.healthz_cpu_ms:.2f} ms CPU/req, submit p99 {run.submit_p99_ms:.0f} ms"
                        + ("" if run.ok else " (VERIFICATION FAILED)"),
                        flush=True,
                    )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)
    sides = {name: [run for run in runs if run.tree == name] for name in ("baseline", "current")}
    submit = {name: statistics.median(run.submit_cpu_ms for run in side) for name, side in sides.items()}
    healthz = {name: statistics.median(run.healthz_cpu_ms for run in side) for name, side in sides.items()}
    ratio = submit["current"] / submit["baseline"]
    print(
        f"\n{args.database}, {args.judges} judges × {args.entries} entries, {args.concurrency} at a time, "
        f"{args.workers} workers, {args.rounds} rounds; baseline {args.baseline}\n"
        f"| tree | worker CPU ms per sheet save (median) | healthz CPU ms/req (median) |\n|---|---:|---:|\n"
        f"| baseline {args.baseline} | {submit['baseline']:.2f} | {healthz['baseline']:.2f} |\n"
        f"| current | {submit['current']:.2f} | {healthz['current']:.2f} |\n"
        f"ratio current / baseline: {ratio:.3f} (target ≤ {TARGET:.2f}: {'met' if ratio <= TARGET else 'MISSED'}); "
        f"healthz control ratio {healthz['current'] / healthz['baseline']:.3f}"
    )
    sys.exit(0 if ratio <= TARGET and all(run.ok for run in runs) else 1)


if __name__ == "__main__":
    main()
