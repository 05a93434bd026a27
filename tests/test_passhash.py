import bcrypt
import pytest

from openagc import passhash
from openagc.passhash import pass_key_salt, upstream_pass_hash, verify_pass_hash

PASS_KEY = "ABCDEFGHIJKLMNOP"  # 16 chars, as upstream generates
OTHER_KEY = "q7Zr2Lm9Xc4Vb8Nw"

PASSWORDS = ["1234", "", "test", "pässwörd", "a\x00b", "x" * 71, "y" * 72, "z" * 100]


def _pyca_full(password: str, pass_key: str, cost: int) -> bytes:
    salt = pass_key_salt(pass_key)
    return bcrypt.hashpw(password.encode("utf-8")[:72], b"$2a$%02d$" % cost + salt)


def test_salt_is_bcrypt_base64_of_16_key_bytes():
    salt = pass_key_salt(PASS_KEY)
    assert salt is not None and len(salt) == 22
    assert set(salt) <= set(b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    assert passhash._bcrypt_b64decode(salt) == PASS_KEY.encode()
    # pyca bcrypt rejects non-canonical 22nd chars; our salt must be echoed back unchanged.
    full = bcrypt.hashpw(b"1234", b"$2a$04$" + salt)
    assert full[7:29] == salt


def test_salt_matches_libpass_bcrypt64():
    from passlib.utils.binary import bcrypt64

    for key in (PASS_KEY, OTHER_KEY, "0000000000000000", "~~~~~~~~~~~~~~~~"):
        assert pass_key_salt(key) == bcrypt64.encode_bytes(key.encode())


@pytest.mark.parametrize("cost", [4, 5])
@pytest.mark.parametrize("pass_key", [PASS_KEY, OTHER_KEY])
def test_known_answer_against_pyca(cost, pass_key):
    for pw in ["1234", "pässwörd", "z" * 100]:
        full = _pyca_full(pw, pass_key, cost)
        assert full.startswith(b"$2a$%02d$" % cost)
        assert len(full) == 60
        assert upstream_pass_hash(pw, pass_key, cost) == full[29:].decode()
        assert len(upstream_pass_hash(pw, pass_key, cost)) == 31


@pytest.mark.parametrize("cost", [4, 5])
def test_low_cost_engine_matches_pyca(cost):
    """The libpass EksBlowfish path (used for cost < 4) agrees with pyca bcrypt."""
    for key in (PASS_KEY, OTHER_KEY):
        salt = pass_key_salt(key)
        for pw in PASSWORDS:
            raw = pw.encode("utf-8")[:72]
            expected = bcrypt.hashpw(raw, b"$2a$%02d$" % cost + salt)[29:].decode()
            assert passhash._eks_digest(raw, salt, cost) == expected, (key, pw)


def test_low_cost_engine_public_vector():
    # Openwall crypt_blowfish test vector:
    # "U*U" -> $2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW
    assert passhash._eks_digest(b"U*U", b"CCCCCCCCCCCCCCCCCCCCC.", 5) == "E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"


def test_pyca_rejects_cost_2_but_we_do_not():
    with pytest.raises(ValueError):
        bcrypt.hashpw(b"1234", b"$2a$02$" + pass_key_salt(PASS_KEY))
    h2 = upstream_pass_hash("1234", PASS_KEY, 2)
    assert h2 is not None and len(h2) == 31
    assert set(h2) <= set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    assert h2 != upstream_pass_hash("1234", PASS_KEY, 4)
    assert h2 == upstream_pass_hash("1234", PASS_KEY, 2)  # deterministic
    assert h2 != upstream_pass_hash("1235", PASS_KEY, 2)
    assert h2 != upstream_pass_hash("1234", OTHER_KEY, 2)
    assert verify_pass_hash("1234", h2, PASS_KEY, 2)
    assert verify_pass_hash("1234", h2, PASS_KEY, "02")  # cost as read from system_settings


@pytest.mark.parametrize("cost", [1, 2, 3])
def test_every_low_cost_runs(cost):
    h = upstream_pass_hash("1234", PASS_KEY, cost)
    assert h is not None and len(h) == 31


def test_password_truncated_at_72_bytes():
    assert upstream_pass_hash("y" * 72, PASS_KEY, 2) == upstream_pass_hash("y" * 72 + "extra", PASS_KEY, 2)
    assert upstream_pass_hash("y" * 72, PASS_KEY, 4) == upstream_pass_hash("y" * 80, PASS_KEY, 4)


@pytest.mark.parametrize("bad_key", ["", "ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNOPQ", "ABCDEFGHIJKLMNOé"])
@pytest.mark.parametrize("cost", [2, 4])
def test_unusable_pass_key_fails_closed(bad_key, cost):
    assert upstream_pass_hash("1234", bad_key, cost) is None
    assert not verify_pass_hash("1234", "", bad_key, cost)  # upstream's fail-open case
    good = upstream_pass_hash("1234", PASS_KEY, cost)
    assert not verify_pass_hash("1234", good, bad_key, cost)


@pytest.mark.parametrize("cost", [0, 32, -1, None, "x"])
def test_bad_cost_fails_closed(cost):
    assert upstream_pass_hash("1234", PASS_KEY, cost) is None
    assert not verify_pass_hash("1234", "", PASS_KEY, cost)


@pytest.mark.parametrize("cost", [2, 4, 5])
def test_empty_stored_never_verifies(cost):
    for pw in ("", "1234"):
        assert not verify_pass_hash(pw, "", PASS_KEY, cost)
        assert not verify_pass_hash(pw, None, PASS_KEY, cost)


@pytest.mark.parametrize("cost", [2, 4, 5])
def test_verify_right_and_wrong_password(cost):
    stored = upstream_pass_hash("s3cret", PASS_KEY, cost)
    assert verify_pass_hash("s3cret", stored, PASS_KEY, cost)
    assert not verify_pass_hash("s3cre", stored, PASS_KEY, cost)
    assert not verify_pass_hash("S3cret", stored, PASS_KEY, cost)
    assert not verify_pass_hash("", stored, PASS_KEY, cost)
    assert not verify_pass_hash("s3cret", stored, OTHER_KEY, cost)
    other_cost = 4 if cost != 4 else 5
    assert not verify_pass_hash("s3cret", stored, PASS_KEY, other_cost)
    # the full 60-char crypt string is not what upstream stores
    assert not verify_pass_hash("s3cret", f"$2a${cost:02d}$" + "x" * 22 + stored, PASS_KEY, cost)
    assert not verify_pass_hash("s3cret", stored + "é", PASS_KEY, cost)
