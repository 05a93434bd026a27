"""Request parameters: intake (GET before POST, per parameter) and the one table of input filters.

Filters delete the characters a parameter may not hold; they never reject a request. `L` in a class
means ASCII letters in latin mode and any Unicode letter when `system_settings.use_non_latin = '1'`.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class Filter:
    """How one parameter is cleaned.

    keep:    the regex class body of ASCII characters kept (`None`: keep everything but `drop`).
    letters: also keep letters (`a-zA-Z`, or any Unicode letter in non-latin mode).
    drop:    characters deleted before anything else.
    plus:    where a literal `+` becomes a space: "before" or "after" the class filter.
    """

    keep: str | None
    letters: bool = False
    drop: str = ""
    plus: str | None = None

    @cached_property
    def _latin(self) -> re.Pattern[str] | None:
        if self.keep is None:
            return None
        return re.compile(f"[^{self.keep}{'a-zA-Z' if self.letters else ''}]")

    @cached_property
    def _non_latin(self) -> re.Pattern[str] | None:
        if self.keep is None:
            return None
        return re.compile(f"[^{self.keep}]")

    def apply(self, raw: str, non_latin: bool = False) -> str:
        value = raw
        if self.drop:
            value = value.translate({ord(c): None for c in self.drop})
        if self.plus == "before":
            value = value.replace("+", " ")
        if self.keep is not None:
            if non_latin and self.letters:
                value = self._non_latin.sub(_keep_letter, value)
            else:
                value = self._latin.sub("", value)
        if self.plus == "after":
            value = value.replace("+", " ")
        return value


def _keep_letter(match: re.Match[str]) -> str:
    ch = match.group()
    return ch if ch.isalpha() else ""


QUOTES = "'\"\\;"
WORD = Filter("-_0-9", letters=True)  # agent_user, function, ids …
ALNUM = Filter("0-9", letters=True)
UPPER = Filter("A-Z")
DIGITS = Filter("0-9")
FREE_TEXT = Filter(None, drop=";#", plus="after")  # vendor_id, comments …
NAME = Filter("- '+_.0-9", letters=True, plus="after")
ADDRESS = Filter("- '+.:/@_0-9", letters=True, plus="after")
ASCII_WORD = Filter("-_0-9a-zA-Z")

# Every parameter the Agent API reads, with its filter. Upstream's order of the 78 names is kept, plus
# `language` (documented, but never read upstream; see docs/compatibility.md) and `wait` (ours).
PARAMETERS: dict[str, Filter] = {
    "user": Filter("-_0-9", letters=True, drop=QUOTES + " "),
    "pass": Filter("-.+/=_0-9", letters=True, drop=QUOTES + " "),
    "agent_user": WORD,
    "function": WORD,
    "value": Filter("-|_0-9", letters=True),
    "vendor_id": FREE_TEXT,
    "focus": WORD,
    "preview": WORD,
    "notes": Filter("- ._0-9", letters=True, plus="before"),
    "phone_code": Filter("0-9X"),
    "search": WORD,
    "group_alias": ALNUM,
    "dial_prefix": ALNUM,
    "source": ALNUM,
    "format": ALNUM,
    "vtiger_callback": UPPER,
    "blended": UPPER,
    "ingroup_choices": Filter("- _0-9", letters=True, plus="before"),
    "set_as_default": UPPER,
    "alt_user": ALNUM,
    "lead_id": DIGITS,
    "phone_number": Filter("*#0-9", letters=True),
    "vendor_lead_code": FREE_TEXT,
    "source_id": FREE_TEXT,
    "gmt_offset_now": Filter("-_.0-9"),
    "title": Filter("- '_.0-9", letters=True),
    "first_name": NAME,
    "middle_initial": ALNUM,
    "last_name": NAME,
    "address1": ADDRESS,
    "address2": ADDRESS,
    "address3": ADDRESS,
    "city": ADDRESS,
    "state": Filter("- 0-9", letters=True),
    "province": Filter("- '+._0-9", letters=True, plus="after"),
    "postal_code": Filter("- 0-9", letters=True, plus="before"),
    "country_code": UPPER,
    "gender": UPPER,
    "date_of_birth": Filter("-0-9"),
    "alt_phone": NAME,
    "email": Filter("- '+.:/@%_0-9", letters=True, plus="after"),
    "security_phrase": ADDRESS,
    "comments": FREE_TEXT,
    "rank": DIGITS,
    "owner": ADDRESS,
    "stage": Filter(None, drop=QUOTES),
    "status": WORD,
    "close_window_link": ASCII_WORD,
    "dnc_check": ASCII_WORD,
    "campaign_dnc_check": ASCII_WORD,
    "dial_override": UPPER,
    "consultative": UPPER,
    "alt_dial": Filter("0-9A-Z"),
    "DB": Filter("0-9a-zA-Z"),
    "callback_datetime": Filter("- :._0-9", letters=True, plus="before"),
    "callback_type": UPPER,
    "callback_comments": Filter("- ._0-9", letters=True, plus="before"),
    "qm_dispo_code": Filter("-._0-9", letters=True),
    "agent_debug": Filter("- .:|_0-9", letters=True),
    "dial_ingroup": WORD,
    "cid_choice": WORD,
    "outbound_cid": WORD,
    "duration": DIGITS,
    "recipient": WORD,
    "recipient_type": Filter("_", letters=True),
    "show_confetti": Filter("YNyn"),
    "maxParticleCount": DIGITS,
    "particleSpeed": DIGITS,
    "notification_date": Filter("- :0-9"),
    "notification_text": FREE_TEXT,
    "notification_retry": Filter("YNyn"),
    "text_size": DIGITS,
    "text_font": Filter("-, ", letters=True),
    "text_weight": Filter(",", letters=True),
    "text_color": ALNUM,
    "multi_dial_phones": Filter(",0-9"),
    "md_check": Filter("0-9a-zA-Z"),
    "tw_check": Filter("0-9a-zA-Z"),
    "language": Filter("a-zA-Z"),
    "wait": DIGITS,  # ours: milliseconds to hold a format=json answer for the command's outcome
}


class Params:
    """The filtered parameters as attributes; an unsent parameter is the empty string.

    Handlers may rewrite attributes (upstream rewrites `value`, `agent_user` … as it goes); the api
    log records each value as it stands when a line is printed.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> str:  # only reached for names not in PARAMETERS
        raise AttributeError(name)

    def get(self, name: str) -> str:
        return self.__dict__.get(name, "")

    def sent(self) -> dict[str, str]:
        """The non-empty parameters (for diagnostics and tests)."""
        return {k: v for k, v in self.__dict__.items() if v}


def pick(query: Mapping[str, str], form: Mapping[str, str], names: Container[str] = PARAMETERS) -> dict[str, str]:
    """Upstream's intake: each of `names` from the query string if present there (even empty), else POST. Only the
    names sent are looked up (a request sends a few of the 80)."""
    raw = {name: form[name] for name in form if name in names}
    raw |= {name: query[name] for name in query if name in names}  # the query string wins
    return raw


def filter_params(raw: Mapping[str, str], *, non_latin: bool) -> Params:
    """Apply the filter table; `consultative` is forced to `NO` unless exactly `YES`."""
    values = {
        name: f.apply(raw.get(name, ""), non_latin) if name in raw else "" for name, f in PARAMETERS.items()
    }
    if values["consultative"] != "YES":
        values["consultative"] = "NO"
    return Params(values)


IDENTITY = ("function", "user", "agent_user", "alt_user")


def identity_params(raw: Mapping[str, str]) -> Params:
    """Only the parameters that say what a request does and for whom (`IDENTITY`), filtered as `filter_params`
    filters them when `use_non_latin` is off: what a request will read can be known before its transaction."""
    return Params({name: PARAMETERS[name].apply(raw[name]) if name in raw else "" for name in IDENTITY})


LOG_STRIP = str.maketrans({c: None for c in QUOTES})
MASK = "XXXXXXXX"


def _mask_passwords(pairs_text: str) -> str:
    """Every `name=value` pair whose *decoded* name is `pass` gets its value masked (`p%61ss=` too)."""
    out = []
    for segment in pairs_text.split("&"):
        name, sep, _ = segment.partition("=")
        if sep and (name == "pass" or ("%" in name and unquote_plus(name) == "pass")):  # as parse_qsl decodes
            segment = f"{name}={MASK}"
        out.append(segment)
    return "&".join(out)


def logging_query_string(query_string: str, form_pairs: list[tuple[str, str]], limit: int | None = None) -> str:
    """The URL text logged in `vicidial_api_urls.url` (§3.3 of api-common), with the password masked.

    Masking works on pairs, so an encoded name (`p%61ss`), a repeated `pass` and a POSTed one are all masked;
    the text is cut to `limit` characters (the password is masked before the cut).
    """
    post = "&".join(f"{k}={MASK if k == 'pass' else v}" for k, v in form_pairs).translate(LOG_STRIP)
    qs = _mask_passwords(query_string)
    if not qs and len(post) > 2:
        qs = post
    if qs and len(post) > 2:
        qs = f"{qs}&GET-AND-POST=Y&{post}"
    text = qs.translate(LOG_STRIP)
    return text if limit is None else text[:limit]
