"""Hostile request material for the property suite (`test_hostile_input.py`) and its long run in `bench/`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from hypothesis import strategies as st

from openagc.api.params import PARAMETERS

# The API document's functions and example URLs (the conformance suite's copy, else the shared seed).
EXAMPLES = Path(__file__).resolve().parents[1] / "conformance" / "examples.json"
SHARED_EXAMPLES = Path("/work/shared/seed/examples.json")


def _document() -> list[dict]:
    for path in (EXAMPLES, SHARED_EXAMPLES):
        if path.exists():
            return json.loads(path.read_text())
    return []


def _functions_and_names() -> tuple[list[str], list[str]]:
    functions, names = set(), set(PARAMETERS)
    for entry in _document():
        functions.add(entry["function"])
        for url in entry["example_urls"]:
            names |= {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    return sorted(functions) or ["version"], sorted(names)


FUNCTIONS, NAMES = _functions_and_names()
SECRET = "Zq7Secret4Api"  # the API user's password in the suite: it must never show up anywhere
AGENT_SECRET = "Zq7Secret4Agent"

SQL = ["' OR '1'='1", "1' OR 1=1 -- ", "\" OR \"\"=\"", "1; DROP TABLE vicidial_users; --",
       "' UNION SELECT user,pass FROM vicidial_users -- ", "1 AND SLEEP(5)", "0x27", "\\'", "`", "%27%20OR%201=1",
       "'); DELETE FROM vicidial_live_agents; --", "1)) OR ((1=1"]
SPECIAL = ["", "\x00", "a\x00b", "%00", "%", "%zz", "%ff%fe", "+", "++", "&", "=", "==", "|", "!", "\r\n", "\n",
           "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "../../etc/passwd", "${jndi:x}",
           "{{7*7}}", "\u202e", "\ufeff", "😀", "ß", "Ω" * 50, "-1", "0", "1e309", "NaN", "9" * 5000,
           "-" + "9" * 40, "1" * 4301, "0" * 100 + "1", " " * 300, "A" * 70_000]


def values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SQL),
        st.sampled_from(SPECIAL),
        st.text(max_size=300),
        st.text(st.characters(codec="latin-1"), min_size=256, max_size=3000),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
    )


def encode_name(draw: st.DrawFn, name: str) -> str:
    """The name as sent: plain, percent-encoded (whole or one letter), or upper-case escapes."""
    how = draw(st.sampled_from(["plain", "plain", "plain", "all", "one"]))
    if how == "all":
        return "".join(f"%{ord(c):02x}" for c in name)
    if how == "one" and name:
        i = draw(st.integers(0, len(name) - 1))
        return name[:i] + f"%{ord(name[i]):02X}" + name[i + 1:]
    return quote(name, safe="")


def encode_value(draw: st.DrawFn, value: str) -> str:
    """Percent-encoded, or half raw: `%` (so invalid escapes such as `%zz`, `%ff%fe` arrive as they are),
    `+`, `=`, quotes and SQL punctuation unescaped; only what an HTTP request line cannot carry is escaped."""
    if draw(st.booleans()):
        return quote(value, safe="")
    return quote(value, safe="%+=!'()*,;:@/?$~")


SQL_OR_TRACE = re.compile(
    r"Traceback|sqlalchemy|OperationalError|ProgrammingError|IntegrityError|DataError|\[SQL:|asyncmy|pymysql|"
    r"sqlite3|File \"/|line \d+, in ", re.IGNORECASE)
