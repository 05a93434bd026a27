"""The parameters the companion functions read, each with upstream's non_agent_api.php input filter.

Intake is api.php's (`api.params.pick`: GET before POST, per name); filters delete characters, never reject.
`user` and `pass` are filtered as api.php filters them, so one credential check serves both scripts.
"""

from __future__ import annotations

from collections.abc import Mapping

from openagc.api.params import ALNUM, ASCII_WORD, DIGITS, UPPER, WORD, Filter, Params
from openagc.api.params import PARAMETERS as AGENT_API_PARAMETERS

GROUP_LIST = Filter("-|,_0-9", letters=True)  # user_groups, in_groups: pipe-delimited names

PARAMETERS: dict[str, Filter] = {
    "user": AGENT_API_PARAMETERS["user"],
    "pass": AGENT_API_PARAMETERS["pass"],
    "function": WORD,
    "format": ALNUM,
    "source": ALNUM,
    "agent_user": WORD,
    "stage": ASCII_WORD,
    "header": Filter("0-9a-zA-Z"),
    "campaign_id": WORD,
    "ignore_agentdirect": UPPER,
    "user_groups": GROUP_LIST,
    "in_groups": GROUP_LIST,
    "campaigns": Filter("-,|_0-9", letters=True),
    "call_id": ALNUM,
    "detail": UPPER,
    "include_ip": Filter("0-9a-zA-Z"),
    "show_sub_status": UPPER,
    "session_id": DIGITS,  # only logged (agent_ingroup_info's INVALID USER ID row)
}


def filter_params(raw: Mapping[str, str], *, non_latin: bool) -> Params:
    """Every companion parameter, filtered; an unsent one is the empty string."""
    return Params({name: f.apply(raw[name], non_latin) if name in raw else "" for name, f in PARAMETERS.items()})
