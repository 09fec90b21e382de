"""Run every benchmark (`make bench`): each bench/bench_*.py, then the HTTP load comparison, each in its own process.

Figures are printed, not judged: the machine is shared and noisy, so every benchmark prints ratios against a
baseline it measures in the same run. The exit status is non-zero only if a benchmark itself failed.

Run: .venv/bin/python -m bench.run [--skip NAME ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def benchmarks() -> list[str]:
    """Module names in running order: the quick in-process ones first, the HTTP load last."""
    return [p.stem for p in sorted(BENCH.glob("bench_*.py"))] + ["load"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", nargs="*", default=[], help="module names to leave out, e.g. load")
    args = parser.parse_args(argv)
    failed = []
    for name in benchmarks():
        if name in args.skip:
            continue
        print(f"\n=== bench.{name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.run([str(PYTHON), "-m", f"bench.{name}"], cwd=ROOT, check=False).returncode
        print(
            f"=== bench.{name}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
            f"in {time.perf_counter() - started:.0f} s ===",
            flush=True,
        )
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
