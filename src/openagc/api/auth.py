"""api.php's credential check, under the name the API has always imported it by.

It lives in `openagc.credentials`, shared with the engine's `/agent/login` and the companion API.
"""

from openagc.credentials import (
    BAD,
    ERRSERVERS,
    GOOD,
    IPBLOCK,
    LOCK,
    LOCKOUT_FAILURES,
    LOCKOUT_SECONDS,
    ApiUser,
    AuthResult,
    Lockout,
    authenticate,
    check_password,
    load_user,
    servers_active,
    source_of,
)

__all__ = ["BAD", "ERRSERVERS", "GOOD", "IPBLOCK", "LOCK", "LOCKOUT_FAILURES", "LOCKOUT_SECONDS", "ApiUser",
           "AuthResult", "Lockout", "authenticate", "check_password", "load_user", "servers_active", "source_of"]
