"""Upstream-compatible ``vicidial_users.pass_hash`` computation and verification.

Upstream VICIdial computes ``pass_hash`` with its helper ``bp.pl``:

* bcrypt variant ``$2a$``;
* cost = ``system_settings.pass_cost`` left-padded to two digits (upstream's
  default is ``2``, i.e. ``$2a$02$``);
* salt = bcrypt-base64 (alphabet ``./A-Za-z0-9``) of the 16 raw bytes of
  ``system_settings.pass_key`` -- only when pass_key is exactly 16 bytes long,
  which gives the canonical 22-character salt;
* only the 31-character digest (everything after the 29-character
  ``$2a$CC$<salt>`` prefix) is stored.

When pass_key is not exactly 16 bytes upstream's helper prints nothing, and the
empty "hash" then matches every user whose ``pass_hash`` is empty.  We fail
closed instead: :func:`upstream_pass_hash` returns ``None`` and
:func:`verify_pass_hash` returns ``False``.

Costs 4..31 go through the pyca ``bcrypt`` library.  pyca refuses costs below 4
("Invalid salt"), and upstream's default is 2, so costs 1..3 run the
EksBlowfish key schedule from ``libpass`` (import name ``passlib``), whose
``raw_bcrypt`` also rejects rounds < 4; we compose the same steps from its
``BlowfishEngine`` primitive with the smaller round count.  Both paths give the
same digest at every cost (the tests cross-check them at costs 4 and 5).
"""

from __future__ import annotations

import base64
import hmac
import struct

import bcrypt

__all__ = ["upstream_pass_hash", "verify_pass_hash", "pass_key_salt"]

_STD_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_B64 = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = bytes.maketrans(_STD_B64, _BCRYPT_B64)
_FROM_BCRYPT = bytes.maketrans(_BCRYPT_B64, _STD_B64)

# bcrypt's magic plaintext "OrpheanBeholderScryDoubt" as six big-endian words.
_BCRYPT_CDATA = (0x4F727068, 0x65616E42, 0x65686F6C, 0x64657253, 0x63727944, 0x6F756274)

_MIN_COST = 1
_MAX_COST = 31
_PYCA_MIN_COST = 4
_MAX_PASSWORD_BYTES = 72
DIGEST_LEN = 31


def _bcrypt_b64encode(raw: bytes) -> bytes:
    return base64.b64encode(raw).rstrip(b"=").translate(_TO_BCRYPT)


def _bcrypt_b64decode(text: bytes) -> bytes:
    std = text.translate(_FROM_BCRYPT)
    return base64.b64decode(std + b"=" * (-len(std) % 4))


def pass_key_salt(pass_key: str) -> bytes | None:
    """The 22-character bcrypt salt bp.pl derives from ``pass_key``, or None if unusable.

    Upstream (Perl, byte strings) requires ``length(pass_key) == 16``; the value
    read from MySQL is bytes, so the length that counts is the UTF-8 byte length
    (identical to the character count for the ASCII keys upstream generates).
    """
    if not isinstance(pass_key, str):
        return None
    raw = pass_key.encode("utf-8")
    if len(raw) != 16:
        return None
    return _bcrypt_b64encode(raw)  # 16 bytes -> 22 chars, last char carries 2 bits


def _password_bytes(password: str) -> bytes:
    # bcrypt only ever reads the first 72 bytes of the key.
    return password.encode("utf-8")[:_MAX_PASSWORD_BYTES]


def _eks_digest(password: bytes, salt22: bytes, cost: int) -> str:
    """``$2a$`` bcrypt digest (31 chars) at any cost 1..31, via libpass's BlowfishEngine.

    Same steps as ``passlib.crypto._blowfish.raw_bcrypt`` minus its ``rounds >= 4`` check.
    """
    from passlib.crypto._blowfish import BlowfishEngine

    if not _MIN_COST <= cost <= _MAX_COST:
        raise ValueError(f"bcrypt cost out of range: {cost}")
    salt = _bcrypt_b64decode(salt22)[:16]
    if len(salt) != 16:
        raise ValueError("bcrypt salt must decode to 16 bytes")
    key = password[:_MAX_PASSWORD_BYTES] + b"\x00"  # $2a$: the key includes its NUL terminator

    engine = BlowfishEngine()
    key_words = engine.key_to_words(key)  # 18 words, key repeated/truncated to 72 bytes
    salt_words = engine.key_to_words(salt)
    engine.eks_salted_expand(key_words, salt_words[:4])
    engine.eks_repeated_expand(key_words, salt_words, 1 << cost)

    data = list(_BCRYPT_CDATA)
    for i in range(0, 6, 2):
        data[i], data[i + 1] = engine.repeat_encipher(data[i], data[i + 1], 64)
    raw = struct.pack(">6I", *data)[:23]  # bcrypt drops the last byte of the ciphertext
    return _bcrypt_b64encode(raw).decode("ascii")  # 23 bytes -> 31 chars


def _pyca_digest(password: bytes, salt22: bytes, cost: int) -> str:
    full = bcrypt.hashpw(password, b"$2a$%02d$" % cost + salt22)
    return full[-DIGEST_LEN:].decode("ascii")


def upstream_pass_hash(password: str, pass_key: str, cost: int) -> str | None:
    """The 31-character digest upstream stores in pass_hash, or None when pass_key is unusable."""
    salt22 = pass_key_salt(pass_key)
    if salt22 is None:
        return None
    try:
        cost = int(cost)
    except (TypeError, ValueError):
        return None
    if not _MIN_COST <= cost <= _MAX_COST:
        return None
    if password is None:
        return None
    pw = _password_bytes(str(password))
    if cost >= _PYCA_MIN_COST:
        return _pyca_digest(pw, salt22, cost)
    return _eks_digest(pw, salt22, cost)


def verify_pass_hash(password: str, stored: str, pass_key: str, cost: int) -> bool:
    """Constant-time check of ``password`` against a stored upstream ``pass_hash``.

    Fails closed: an empty/missing stored hash or an unusable pass_key/cost never verifies.
    """
    if not stored or not isinstance(stored, str):
        return False
    computed = upstream_pass_hash(password, pass_key, cost)
    if not computed:
        return False
    return hmac.compare_digest(computed.encode("ascii"), stored.encode("utf-8"))
