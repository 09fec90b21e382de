"""`import function_app` in a fresh interpreter, as a ratio to importing the SDKs it cannot avoid.

The baseline is `import azure.functions, pydantic` in the same kind of fresh interpreter. Both run with a
warm bytecode cache (kept under a temporary PYTHONPYCACHEPREFIX, so nothing is written into the tree), as
a deployed app's second cold start would. Median of RUNS runs each. Budget (docs/architecture.md "Budgets"): at most
1.25x. What function_app imports directly is listed by cumulative import time.

It also lists any msal or scim.entra module that `import function_app` loads: there must be none, since
only `scimctl entra` needs them.

Run: .venv/bin/python -m bench.bench_import
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
RUNS = 5
BUDGET = 1.25
TARGET = "import function_app"
BASELINE = "import azure.functions, pydantic"
_TIMED = (
    "import sys, time; sys.path.insert(0, {root!r}); t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
)
LAZY = ("msal", "msal_extensions")  # scimctl entra only; never on the request path
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("SCIM_")}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def timed(stmt: str, env: dict[str, str]) -> float:
    """Seconds the import statement takes in a fresh interpreter (interpreter start-up excluded)."""
    code = _TIMED.format(root=str(ROOT), stmt=stmt)
    out = subprocess.run([str(PYTHON), "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def children(stmt: str, env: dict[str, str]) -> dict[str, int]:
    """Modules imported directly by the module the statement imports, with cumulative microseconds."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); {stmt}"
    out = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    # -X importtime lists a module after those it imported, two more spaces of indent per level.
    pending: dict[str, int] = {}
    for match in _LINE.finditer(out.stderr):
        depth, name = len(match.group(3)), match.group(4)
        if depth == 3:
            pending[name] = int(match.group(2))
        elif depth == 1:
            if name == stmt.rsplit(maxsplit=1)[-1]:
                return pending
            pending = {}
    return pending


def loaded(stmt: str, env: dict[str, str], prefixes: tuple[str, ...] = LAZY) -> list[str]:
    """Modules under ``prefixes`` that the statement leaves loaded (they load lazily; docs/architecture.md)."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); {stmt}; "
        f"print('\\n'.join(m for m in sys.modules if m.split('.')[0] in {prefixes!r} or m.startswith('scim.entra')))"
    )
    out = subprocess.run([str(PYTHON), "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted(line for line in out.stdout.splitlines() if line)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(Path(tmp))
        timed(TARGET, env)  # fills the bytecode cache for both statements
        timed(BASELINE, env)
        target: list[float] = []
        base: list[float] = []
        for _ in range(RUNS):  # interleaved, so both see the same background load
            target.append(timed(TARGET, env))
            base.append(timed(BASELINE, env))
        direct = children(TARGET, env)
        lazy = loaded(TARGET, env)

    t, b = statistics.median(target), statistics.median(base)
    verdict = "ok" if t / b <= BUDGET else "MISSED"
    print(f"Import cost, fresh interpreter, warm bytecode cache, median of {RUNS}:")
    print(f"  {TARGET:<34} {t * 1000:7.1f} ms")
    print(f"  {BASELINE:<34} {b * 1000:7.1f} ms   (baseline)")
    print(f"  ratio x{t / b:.2f} (budget <= {BUDGET}: {verdict}); best-of-{RUNS} ratio x{min(target) / min(base):.2f}")
    lazy_verdict = "ok" if not lazy else "MISSED: " + ", ".join(lazy)
    print(f"  msal and scim.entra modules loaded by {TARGET}: {len(lazy)} (budget 0: {lazy_verdict})")
    print("  what function_app imports directly (cumulative, one run; SDKs count towards the baseline):")
    for name, us in sorted(direct.items(), key=lambda item: -item[1])[:10]:
        print(f"    {name:<40} {us / 1000:7.1f} ms")


if __name__ == "__main__":
    main()
