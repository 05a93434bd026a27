"""Translation of response words through `vicidial_language_phrases` (upstream's `_QXZ`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.api.reply import Translate
from openagc.store.schema import vicidial_language_phrases


def _identity(text: str) -> str:
    return text


def language_active(system: dict[str, Any], selected_language: str) -> bool:
    return (
        str(system.get("enable_languages") or "0") == "1"
        and (system.get("language_method") or "DISABLED") != "DISABLED"
        and bool(selected_language)
        and selected_language != "default English"
    )


async def translator(conn: AsyncConnection, system: dict[str, Any], selected_language: str,
                     phrases: Iterable[str]) -> Translate:
    """A translate function for these phrases; the identity when translation is off (the common case)."""
    if not language_active(system, selected_language):
        return _identity
    yes_no = "english" not in selected_language.lower()
    wanted = {p for p in phrases if p}
    table: dict[str, str] = {}
    if system.get("language_method") == "MYSQL" and wanted:
        L = vicidial_language_phrases.c
        rows = await conn.execute(
            sa.select(L.english_text, L.translated_text)
            .where(L.language_id == selected_language, L.english_text.in_(wanted))
        )
        for english, translated in rows:
            table.setdefault(english, translated or "")

    def translate(text: str) -> str:
        if yes_no and text in ("Y", "N"):
            text = "YES" if text == "Y" else "NO"
        return table.get(text, text)

    return translate
