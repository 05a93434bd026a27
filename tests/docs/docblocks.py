"""The fenced blocks of README.md and docs/*.md, and the markers that make a shell block run as a test.

Markers are HTML comments on the line before a fence (GitHub shows nothing for them; the fence keeps its language,
so it is still highlighted):

* `<!-- run -->` before a ```` ```sh ```` block: `tests/docs/test_doc_blocks.py` runs it with bash against a fresh
  server, after the blocks before it in the same document (variables carry over from block to block).
* `<!-- server -->` before a ```` ```sh ```` block of one command: the command that starts the document's server
  (started in the background instead of being run to the end); without one the server is `.venv/bin/openagc serve`.
* `<!-- output -->` before a ```` ```text ```` block right after a run block: that block's whole output.
* `<!-- not run: <reason> -->` before any block: why it is not run (listed with the other blocks not run).

Inside a run block, what a command prints is shown with `# =>`: at the end of the command's line for one line of
output, or as whole lines after it (one `# =>` line per line of output). Output that a command prints without
`# =>` after it is not compared. Expected lines are compared exactly, except for these placeholders:

| placeholder | matches |
|---|---|
| `<n>` | a whole number (ids, counts, epochs, lengths) |
| `<date>` | `YYYY-MM-DD` |
| `<time>` | `HH:MM:SS` |
| `<token>` | letters, digits, `_`, `-` and `.` (session tokens, file names) |
| `…` | anything on the rest of the line up to what follows it |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = ("sh", "bash", "shell", "console")
PLACEHOLDERS = {
    "<n>": r"\d+",
    "<date>": r"\d{4}-\d{2}-\d{2}",
    "<time>": r"\d{2}:\d{2}:\d{2}",
    "<token>": r"[A-Za-z0-9_.-]+",
    "…": r".*?",
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS))
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>run|server|output|not run)\s*(?::\s*(?P<reason>.*?))?\s*-->\s*$")
_INLINE = re.compile(r"\s#\s=>\s?(?P<out>.*)$")
_WHOLE = re.compile(r"^\s*#\s=>(?:\s(?P<out>.*))?$")


def documents() -> list[Path]:
    """README.md and every docs/*.md, in a fixed order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Block:
    """One fenced block: where it is, its language, its marker and its lines (indentation removed)."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    marker: str  # "run", "server", "output", "not run" or "" (unmarked)
    reason: str
    lines: list[str]
    shown: list[str] | None = None  # a run block's whole output, from the `<!-- output -->` block after it

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.language in SHELLS

    @property
    def summary(self) -> str:
        first = next((ln.strip() for ln in self.lines if ln.strip()), "")
        return first if len(first) <= 70 else first[:67] + "..."


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker on the line before it."""
    text = path.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    i = 0
    while i < len(text):
        m = _FENCE.match(text[i])
        if not m:
            i += 1
            continue
        indent, fence = len(m["indent"]), m["fence"]
        language = (m["info"].strip().split() or [""])[0].lower()
        prev = next((text[j] for j in range(i - 1, -1, -1) if text[j].strip()), "")
        mark = _MARKER.match(prev)
        body: list[str] = []
        j = i + 1
        while j < len(text) and not (text[j].strip().startswith(fence[0] * len(fence))
                                     and text[j].strip().strip(fence[0]) == ""):
            body.append(text[j][indent:] if text[j][:indent].strip() == "" else text[j])
            j += 1
        found.append(Block(path, i + 1, language, mark["kind"] if mark else "", (mark["reason"] or "") if mark else "",
                           body))
        i = j + 1
    return found


@dataclass
class Segment:
    """Commands of a run block up to a shown output; `expected` is None where nothing is shown."""

    script: list[str] = field(default_factory=list)
    expected: list[str] | None = None
    line: int = 0  # line in the document of the segment's last command


def segments(block: Block) -> list[Segment]:
    """A run block cut after every command whose output is shown with `# =>`."""
    out: list[Segment] = []
    cur = Segment()
    for offset, line in enumerate(block.lines):
        whole = _WHOLE.match(line)
        if whole:
            if cur.expected is None:
                if not cur.script and out and out[-1].expected is not None:
                    cur = out.pop()  # more lines of the same shown output
                else:
                    cur.expected = []
            cur.expected.append(whole["out"] or "")
            continue
        if cur.expected is not None:
            out.append(cur)
            cur = Segment()
        cur.script.append(line)
        cur.line = block.line + 1 + offset
        inline = _INLINE.search(line) if not line.lstrip().startswith("#") else None
        if inline:
            cur.expected = [inline["out"]]
            out.append(cur)
            cur = Segment()
    if cur.script or cur.expected is not None:
        out.append(cur)
    return out


def pattern(expected: str) -> re.Pattern[str]:
    """An expected line as a regular expression: literal text, placeholders as in the table above."""
    parts, last = [], 0
    for m in _PLACEHOLDER.finditer(expected):
        parts += [re.escape(expected[last:m.start()]), PLACEHOLDERS[m.group()]]
        last = m.end()
    parts.append(re.escape(expected[last:]))
    return re.compile("".join(parts))


def mismatch(expected: list[str], actual: str) -> str | None:
    """None when `actual` (a command's output) is `expected` line for line, else what differs."""
    lines = actual.rstrip("\n").split("\n") if actual.rstrip("\n") else []
    for n, (want, got) in enumerate(zip(expected, lines, strict=False), start=1):
        if not pattern(want).fullmatch(got):
            return f"line {n}: expected {want!r}\n{' ' * len(str(n))}       got      {got!r}"
    if len(expected) != len(lines):
        return f"expected {len(expected)} line(s), got {len(lines)}: {lines!r}"
    return None
