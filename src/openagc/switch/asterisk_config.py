"""The Asterisk 22 configuration openagc ships: `write_config(out_dir, options)` (and `openagc asterisk-config`).

The files are Jinja2 templates in `asterisk_conf/` (package data). The dialplan is derived from an
`AsteriskSettings` (its defaults unless one is given), so the extens the adapter originates into or redirects to
and the ones the dialplan defines cannot drift apart:

* ``conference_exten`` (``{conference}``)        → ``_86000XX``: ConfBridge, normal user profile
* ``recording_channel`` (``Local/5{conference}``) → ``_586000XX``: listen-only entry (the recording leg)
* ``dtmf_exten`` (``7{conference}``)               → ``_786000XX``: silent entry (the DTMF sender's ``;1`` half)
* ``dtmf_channel`` (``Local/8500998``)             → ``8500998``: plays the caller-id digits (no AGI)
* ``park_exten`` (``8301``)                        → hold music until redirected
* ``dial_prefix`` (``9``)                          → ``_91NXXNXXXXXX`` / ``_9X.``: the trunk, with failure signalling
* ``inbound_userevent`` / ``sounds_variable``      → the in-group entry and the message-drop extens

The AMI account gets exactly `AMI_READ` / `AMI_WRITE` (`AMI_ACTIONS` / `AMI_EVENTS`: what each one needs).
Secrets that are not given are generated (``secrets.token_urlsafe``), never fixed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import jinja2

from openagc.switch.asterisk import AsteriskSettings

#: The write classes each AMI action the adapter sends accepts (any one suffices: Asterisk 22's manager.c runs
#: an action when the account's write classes share a bit with the action's).
AMI_ACTIONS: dict[str, tuple[str, ...]] = {
    "Login": (),
    "Ping": (),
    "Originate": ("originate",),
    "Hangup": ("system", "call"),
    "Redirect": ("call",),
    "Setvar": ("call",),
    "MixMonitor": ("system",),
    "StopMixMonitor": ("system", "call"),
    "ControlPlayback": ("call",),
    "CoreShowChannels": ("system", "reporting"),  # its CoreShowChannel list is a reply: no read class
}
#: The read class of each AMI event the adapter acts on (an event reaches the accounts reading its class).
AMI_EVENTS: dict[str, str] = {
    "OriginateResponse": "call",
    "Newchannel": "call",
    "Newstate": "call",
    "NewCallerid": "call",
    "NewConnectedLine": "call",
    "DialBegin": "call",
    "DialEnd": "call",
    "Hangup": "call",
    "DTMFEnd": "dtmf",
    "UserEvent": "user",
}
#: The AMI account's read classes: call events, DTMFEnd, the inbound UserEvent. Not `system`: panoramisk
#: re-sends the actions a disconnect interrupted when it reads FullyBooted, after the adapter gave up on them.
AMI_READ: tuple[str, ...] = ("call", "dtmf", "user")
#: The AMI account's write classes: Originate; Hangup/Redirect/Setvar/ControlPlayback; MixMonitor (also
#: covers CoreShowChannels and StopMixMonitor, so `reporting` is not needed).
AMI_WRITE: tuple[str, ...] = ("call", "originate", "system")

#: The fake customers of `test_customers` (context ``openagc-customers``), by what they do.
TEST_NUMBERS: dict[str, str] = {
    "answer": "13125551000",  # any 1312555XXXX not below: rings 2 s, answers, talks (tt-monkeys)
    "busy": "13125550486",  # Busy()
    "no_answer": "13125550487",  # rings, never answers
    "answer_hangup": "13125550488",  # answers, plays a short sound, hangs up (cause 16)
    "congestion": "13125550489",  # Congestion()
}

PROTOCOLS = ("IAX2", "PJSIP")
TEMPLATES = ("extensions.conf", "confbridge.conf", "manager.conf", "modules.conf", "musiconhold.conf",
             "logger.conf", "iax.conf", "pjsip.conf", "indications.conf", "asterisk.conf")
_MARK = "\x00CONF\x00"
_LOCAL = re.compile(r"Local/(?P<exten>[^@/]+)@(?P<context>[^/]+)(?:/n)?")
_EXTEN_SAFE = re.compile(r"[A-Za-z0-9*#+_-]+")
_GROUP_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def _secret() -> str:
    return secrets.token_urlsafe(18)


@dataclass
class Phone:
    """An agent phone as the engine dials it: ``{protocol}/{extension}`` (`phones.protocol`, `phones.extension`)."""

    extension: str
    protocol: str = "IAX2"
    secret: str = field(default_factory=_secret)

    def __post_init__(self) -> None:
        self.protocol = self.protocol.upper()
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"phone {self.extension}: protocol {self.protocol} (Asterisk 22 has IAX2 and PJSIP; "
                             "chan_sip is gone, EXTERNAL phones are dialplan extens)")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.extension):
            raise ValueError(f"phone extension {self.extension!r}")


@dataclass
class AsteriskDirectories:
    """``asterisk.conf`` ``[directories]``: where Asterisk finds modules and data and keeps its state.

    Asterisk needs its XML documentation (``<data>/documentation``, it will not start without it) and reads
    sounds from ``<data>/sounds``. With `data_from` / `sounds` set, `create()` builds `data` as a directory of
    links: every directory in `data_from` (an installed Asterisk's data directory), and ``sounds`` → `sounds`.
    """

    etc: Path
    modules: Path | None = None
    data: Path | None = None
    varlib: Path | None = None
    db: Path | None = None
    spool: Path | None = None
    run: Path | None = None
    log: Path | None = None
    data_from: Path | None = None
    sounds: Path | None = None

    @classmethod
    def under(cls, root: Path, *, etc: Path, modules: Path, data_from: Path,
              sounds: Path | None = None) -> AsteriskDirectories:
        """A private tree (tests): state and a linked data directory under `root`, modules from an installation."""
        return cls(etc=etc, modules=modules, data=root / "data", varlib=root / "lib", db=root / "lib",
                   spool=root / "spool", run=root / "run", log=root / "log", data_from=data_from, sounds=sounds)

    def create(self) -> None:
        """Create the directories Asterisk writes to (it does not create them itself) and the data links."""
        for path in (self.varlib, self.db, self.spool, self.run, self.log):
            if path is not None:
                path.mkdir(parents=True, exist_ok=True)
        if self.spool is not None:
            (self.spool / "monitor").mkdir(exist_ok=True)
        if self.data is None or (self.data_from is None and self.sounds is None):
            return
        self.data.mkdir(parents=True, exist_ok=True)
        links = {entry.name: entry for entry in (self.data_from.iterdir() if self.data_from else ()) if entry.is_dir()}
        if self.sounds is not None:
            links["sounds"] = self.sounds
        for name, target in links.items():
            link = self.data / name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(target)

    def lines(self) -> list[tuple[str, str]]:
        pairs = (("astetcdir", self.etc), ("astmoddir", self.modules), ("astdatadir", self.data),
                 ("astvarlibdir", self.varlib), ("astdbdir", self.db), ("astspooldir", self.spool),
                 ("astrundir", self.run), ("astlogdir", self.log))
        return [(key, str(path)) for key, path in pairs if path is not None]


@dataclass
class AsteriskConfigOptions:
    """What `write_config` writes. Every secret not given is generated; read it back from the options."""

    ami_user: str = "openagc"
    ami_secret: str = field(default_factory=_secret)
    ami_port: int = 5038
    bind: str = "127.0.0.1"  # AMI address
    ami_permit: Sequence[str] = ("127.0.0.1/255.255.255.255",)  # who may log in to the AMI
    observer_ami: tuple[str, str] | None = None  # (user, secret): a read-everything account (event logs)
    phones: Sequence[Phone | tuple[str, str]] = ()  # agent phones: Phone or (extension, protocol)
    loopback_phones: bool = False  # tests: each IAX2 phone is a call back into this Asterisk that answers
    iax_bind: str = "0.0.0.0"
    iax_port: int = 4569
    sip_bind: str = "0.0.0.0"
    sip_port: int = 5060
    trunk: str = ""  # Dial() target with ${NUMBER}, e.g. PJSIP/${NUMBER}@mytrunk; "" = none yet (congestion)
    test_customers: bool = False  # the trunk is context openagc-customers (TEST_NUMBERS)
    dids: Sequence[tuple[str, str]] = ()  # (DID, in-group): inbound calls in context openagc-inbound
    remote_agents: Sequence[tuple[str, str]] = ()  # (conf_exten, number dialled through the trunk)
    message_extens: Sequence[str] = ("vm-goodbye", "8320")  # campaigns' am_message_exten (LEAVE_VM)
    conference_pattern: str = "86000XX"  # the agents' conferences (vicidial_conferences.conf_exten)
    moh_dir: Path = Path("/usr/share/asterisk/moh")
    directories: AsteriskDirectories | None = None  # None: asterisk.conf names only astetcdir (= out_dir)
    settings: AsteriskSettings | None = None  # None: AsteriskSettings' defaults

    def __post_init__(self) -> None:
        self.phones = [p if isinstance(p, Phone) else Phone(extension=p[0], protocol=p[1]) for p in self.phones]
        for did, group in self.dids:
            if not _EXTEN_SAFE.fullmatch(did) or not _GROUP_SAFE.fullmatch(group):
                raise ValueError(f"DID {did!r} → in-group {group!r}")
        for base in self.message_extens:
            if not _EXTEN_SAFE.fullmatch(base):
                raise ValueError(f"message exten {base!r}")
        for exten, number in self.remote_agents:
            if not _EXTEN_SAFE.fullmatch(exten) or not _EXTEN_SAFE.fullmatch(number):
                raise ValueError(f"remote agent {exten!r} → {number!r}")
        for name in (self.ami_user, *(self.observer_ami or ())[:1]):
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise ValueError(f"AMI user {name!r}")
        for value in (self.ami_secret, *(self.observer_ami or ())[1:], *(p.secret for p in self.phone_list)):
            if not value or any(c in value for c in ";\n\r") or value != value.strip():
                raise ValueError("a secret must be non-empty, on one line, without ';' or surrounding spaces")
        if self.test_customers and self.trunk:
            raise ValueError("give either trunk or test_customers")

    @property
    def phone_list(self) -> list[Phone]:
        return [p for p in self.phones if isinstance(p, Phone)]

    @property
    def asterisk_settings(self) -> AsteriskSettings:
        return self.settings or AsteriskSettings(
            host=self.bind, port=self.ami_port, username=self.ami_user, secret=self.ami_secret, server_ip="")


@dataclass(frozen=True)
class Extens:
    """The dialplan names the adapter targets, derived from `AsteriskSettings` (see the module docstring)."""

    context: str
    conference: str  # pattern body, e.g. 86000XX
    recording: str  # 586000XX
    dtmf_entry: str  # 786000XX
    dtmf_player: str  # 8500998
    playback: str  # the playback leg's ;2 exten (normally the conference pattern)
    park: str  # 8301
    park_context: str
    dial_prefix: str  # 9
    inbound_userevent: str
    sounds_variable: str


def _local(channel: str, context: str, what: str) -> str:
    found = _LOCAL.fullmatch(channel)
    if found is None or found["context"] != context:
        raise ValueError(f"{what} {channel!r}: the dialplan needs Local/<exten>@{context}")
    return found["exten"]


def derive_extens(settings: AsteriskSettings, conference_pattern: str = "86000XX") -> Extens:
    """The extens `settings` makes the adapter use, with `conference_pattern` standing for a conference."""
    ctx = settings.context

    def conf(template: str) -> str:
        return template.format(conference=_MARK, context=ctx).replace(_MARK, conference_pattern)

    return Extens(
        context=ctx,
        conference=conf(settings.conference_exten),
        recording=_local(conf(settings.recording_channel), ctx, "recording_channel"),
        dtmf_entry=conf(settings.dtmf_exten),
        dtmf_player=_local(settings.dtmf_channel.format(context=ctx), ctx, "dtmf_channel"),
        playback=_local(conf(settings.playback_channel), ctx, "playback_channel"),
        park=settings.park_exten,
        park_context=settings.park_ctx,
        dial_prefix=settings.dial_prefix,
        inbound_userevent=settings.inbound_userevent,
        sounds_variable=settings.sounds_variable,
    )


def _pattern(body: str) -> str:
    """An exten name for `body`: ``_`` + body when it holds pattern characters."""
    return f"_{body}" if re.search(r"[XNZ.!\[]", body) else body


def _literal(text: str) -> str:
    """`text` inside a ``_`` pattern, matched literally (N, X, Z and pattern signs bracketed)."""
    return "".join(f"[{c}]" if c in "NXZnxz.![" else c for c in text)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("openagc.switch", "asterisk_conf"),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pattern"] = _pattern
    env.filters["literal"] = _literal
    return env


def render(options: AsteriskConfigOptions, out_dir: Path) -> dict[str, str]:
    """Every file's text, by file name."""
    s = options.asterisk_settings
    extens = derive_extens(s, options.conference_pattern)
    trunk = "Local/${NUMBER}@openagc-customers" if options.test_customers else options.trunk
    directories = options.directories or AsteriskDirectories(etc=out_dir)
    values = {
        "o": options, "x": extens, "s": s, "trunk": trunk, "phones": options.phone_list,
        "iax_phones": [p for p in options.phone_list if p.protocol == "IAX2"],
        "pjsip_phones": [p for p in options.phone_list if p.protocol == "PJSIP"],
        "read": ",".join(AMI_READ), "write": ",".join(AMI_WRITE), "numbers": TEST_NUMBERS,
        "directories": directories.lines(),
    }
    env = _environment()
    return {name: env.get_template(name).render(**values) for name in TEMPLATES}


def write_config(out_dir: Path, options: AsteriskConfigOptions) -> list[Path]:
    """Write the configuration files into `out_dir` (created if missing); returns their paths.

    Files holding secrets (``manager.conf``, ``iax.conf``, ``pjsip.conf``) are written mode 0600.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(options, out_dir.resolve()).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        if name in ("manager.conf", "iax.conf", "pjsip.conf"):
            path.chmod(0o600)
        written.append(path)
    return written


def template_names() -> list[str]:
    """The template files shipped as package data."""
    return sorted(p.name for p in resources.files("openagc.switch").joinpath("asterisk_conf").iterdir()
                  if p.name.endswith(".conf"))
