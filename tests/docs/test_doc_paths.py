"""Every file the docs point to is in the repository.

README.md and docs/*.md are scanned for relative links (`[text](path#anchor)`, images too) and for repository
paths in backticks (`src/…`, `tests/…`, `docs/…`, `spec/…`, `scripts/…`, `bench/…`, and `*.py` / `*.md` names
relative to the document, the repository or `src/openagc/`). A path that does not exist fails the test, and so
does a link to a heading that the target document does not have (GitHub's anchor rule).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.docblocks import ROOT, documents

_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE = re.compile(r"`([^`\n]+)`")
_PREFIXES = ("src/", "tests/", "docs/", "spec/", "scripts/", "bench/")
_FILE = re.compile(r"^[\w.-]+(?:/[\w.*-]+)*\.(?:py|md)$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _prose(path: Path) -> str:
    """The document without its fenced blocks (commands in them are checked by running them)."""
    out, fence = [], ""
    for line in path.read_text(encoding="utf-8").split("\n"):
        m = _FENCE.match(line)
        if m and (not fence or m.group(1) == fence):
            fence = "" if fence else m.group(1)
            continue
        if not fence:
            out.append(line)
    return "\n".join(out)


def _exists(candidate: str, base: Path) -> bool:
    for root in (base, ROOT, ROOT / "src" / "openagc"):
        if any(ch in candidate for ch in "*?["):
            if list(root.glob(candidate)):
                return True
        elif (root / candidate).exists():
            return True
    return False


def repo_paths(path: Path) -> list[str]:
    """Backticked repository paths of a document (a test id after `::` and a `:line` suffix are dropped)."""
    found = []
    for code in _CODE.findall(_prose(path)):
        token = code.strip().split()[0] if code.strip() else ""
        token = token.split("::")[0].rstrip(".,;:)")
        token = re.sub(r":\d+$", "", token)
        if token.startswith(_PREFIXES) or (_FILE.match(token) and "/" in token) or re.fullmatch(r"[\w-]+\.md", token):
            found.append(token)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`|\*\*|\*|_(?=\W)|(?<=\W)_", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _prose(path).split("\n"):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


DOCS = documents()


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_linked_file_and_heading_exists(path: Path) -> None:
    missing = []
    for target in _LINK.findall(_prose(path)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: …
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            missing.append(f"link {target}: no file {file_part}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            missing.append(f"link {target}: {linked.name} has no heading #{anchor}")
    assert not missing, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(missing)


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_repository_path_in_backticks_exists(path: Path) -> None:
    missing = sorted({p for p in repo_paths(path) if not _exists(p, path.parent)})
    assert not missing, f"{path.relative_to(ROOT)} names files that are not in the repository: {missing}"


def test_the_scan_finds_what_it_should() -> None:
    """The scanner itself: it sees links, backticked paths and anchors (so a pass means something)."""
    readme = ROOT / "README.md"
    assert any(t.startswith("docs/agent-api.md#") for t in _LINK.findall(_prose(readme)))
    assert "src/openagc/config.py" in repo_paths(readme)
    assert slug("Command outcomes: from the API's SUCCESS to what happened") == (
        "command-outcomes-from-the-apis-success-to-what-happened")
    assert not _exists("spec/agent-session.md", ROOT / "docs")
