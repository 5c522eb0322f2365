"""The Python blocks of the README, as files: run by the suite, type-checked by nox.

``python tests/docs/readme_blocks.py DIR`` writes each block to ``DIR/readme_block_N.py``
(numbered from 1 in the order they appear), for ``mypy --strict DIR``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"^```python\n(.*?)^```\n", re.DOTALL | re.MULTILINE)


def blocks(readme: Path = README) -> list[str]:
    """Return the source of every ```python block of *readme*, in order."""
    return _FENCE.findall(readme.read_text(encoding="utf-8"))


def is_test_module(source: str) -> bool:
    """Whether a block is a pytest module (it defines tests) rather than a program."""
    return re.search(r"^(async )?def test_", source, re.MULTILINE) is not None


def write(directory: Path) -> list[Path]:
    """Write each block to ``directory/readme_block_N.py`` and return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, source in enumerate(blocks(), start=1):
        path = directory / f"readme_block_{number}.py"
        path.write_text(source, encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: readme_blocks.py DIR")
    for written in write(Path(sys.argv[1])):
        sys.stdout.write(f"{written}\n")
