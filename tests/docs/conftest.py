"""At the end of a run that collected the doc tests: which fenced blocks of the docs are not run, and why."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.docs.docblocks import ROOT, blocks, documents

_COLLECTED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(ROOT / "tests" / "docs")
    config.stash[_COLLECTED] = any(str(item.fspath).startswith(here) for item in items)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not config.stash.get(_COLLECTED, False):
        return
    shell, other = [], Counter()
    for path in documents():
        for block in blocks(path):
            if block.marker in ("run", "server", "output"):
                continue
            if block.is_shell:
                why = block.reason or "not marked"
                shell.append(f"  {block.where}  ({why})  {block.summary}")
            else:
                other[block.language or "plain"] += 1
    terminalreporter.write_sep("-", "doc blocks not run")
    for line in shell:
        terminalreporter.write_line(line)
    kinds = ", ".join(f"{n} {lang}" for lang, n in sorted(other.items()))
    terminalreporter.write_line(f"  and {sum(other.values())} blocks that are not shell commands ({kinds})")
