"""Rewrite the mypy baseline at the end of pyproject.toml: the error codes mypy still reports, per module.

    python .ci/mypy_baseline.py          # print the baseline mypy needs today
    python .ci/mypy_baseline.py --write  # and put it in pyproject.toml in place of the old one

Runs mypy on the configuration without the baseline block, then again with the codes found so far disabled until
nothing new appears (disabling a code can leave a `# type: ignore` for it unused). Modules are grouped into one
section per set of codes. The baseline may only shrink: a module that leaves it is clean, and a merge that adds
errors shows up as a longer block in review. Run from the repository root.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PYPROJECT = Path("pyproject.toml")
MARKER = "# ---- mypy baseline"
_HEADER = (f"{MARKER} (issue 17): error codes mypy still reports in modules other helpers were rewriting when\n"
           "# static checks came in. Written by `python .ci/mypy_baseline.py --write`; it may only shrink.\n")
_ERROR = re.compile(r"^(?P<path>[\w/]+)\.py:\d+: error: .*\[(?P<code>[a-z-]+)\]$")


def _sections(codes: dict[str, set[str]]) -> str:
    """One [[tool.mypy.overrides]] section per distinct set of codes."""
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for module, found in sorted(codes.items()):
        groups[tuple(sorted(found))].append(module)
    out = []
    for found_codes, modules in sorted(groups.items(), key=lambda item: item[1][0]):
        names = ", ".join(f'"{m}"' for m in modules)
        quoted = ", ".join(f'"{c}"' for c in found_codes)
        out.append(f"[[tool.mypy.overrides]]\nmodule = [{names}]\ndisable_error_code = [{quoted}]\n")
    return "\n".join(out)


def _run_mypy(config: str) -> list[str]:
    """mypy's output lines for the project's files under a configuration text."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(config)
    try:
        done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", f.name], capture_output=True,
                              text=True, check=False)
    finally:
        Path(f.name).unlink()
    return done.stdout.splitlines()


def baseline(pyproject_text: str) -> str:
    """The baseline block (header and sections) mypy needs for the tree as it is."""
    base = pyproject_text.split(MARKER)[0].rstrip() + "\n"
    codes: dict[str, set[str]] = defaultdict(set)
    while True:
        new = False
        for line in _run_mypy(base + "\n" + _sections(codes)):
            m = _ERROR.match(line.strip())
            if m:
                module = m["path"].replace("/", ".").removesuffix(".__init__")
                new |= m["code"] not in codes[module]
                codes[module].add(m["code"])
        if not new:
            return _HEADER + _sections(codes) if codes else ""


if __name__ == "__main__":
    text = PYPROJECT.read_text()
    block = baseline(text)
    if "--write" in sys.argv[1:]:
        PYPROJECT.write_text(text.split(MARKER)[0].rstrip() + "\n" + ("\n" + block if block else ""))
    else:
        sys.stdout.write(block)
