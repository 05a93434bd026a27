"""Numbers from request text without Python's cost (or its 4,300-digit limit) on huge inputs."""

from __future__ import annotations

BIG = 2**63 - 1  # larger than every column we compare with; SQLite's largest integer


def whole(text: str) -> int:
    """An ASCII-digit string as a number, saturating at `BIG` (so 5,000 digits is just "too large")."""
    digits = text.lstrip("0")
    if not digits:
        return 0
    if len(digits) > 19 or not (digits.isascii() and digits.isdigit()):
        return BIG if digits.isascii() and digits.isdigit() else 0
    return min(int(digits), BIG)
