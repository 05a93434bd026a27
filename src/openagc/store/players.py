"""The audio player of a conference (audio_playback, force_fronter_audio_stop) as the API and the engine know it.

Upstream's player is an `IAX2/ASTplay-…` channel that its channel daemon lists in `live_channels`; the API finds
it by that name. openagc's switch names a player as Asterisk does (`Local/8600051@default-00000012;1`), so a
player is recognised by what was recorded about it instead: the `vicidial_manager` Originate that started it
(Exten `473782158521111`), marked UPDATED with the real channel, while `live_channels` lists that channel in the
conference. Upstream's `IAX2/ASTplay` rows still count.

A player control (`Local/473782148521111<player id>@ctx`) names the player by its id: upstream's channel without
`IAX2/ASTplay-` (`0000001f`), i.e. the part after the channel name's last `-` (`00000012;1` for a Local player).
"""

from __future__ import annotations

import sqlalchemy as sa

from openagc.store.schema import live_channels, vicidial_manager

PLAY_EXTEN = "473782158521111"
CONTROL_EXTEN = "473782138521111"
UPSTREAM_PREFIX = "IAX2/ASTplay"


def player_id(channel: str) -> str:
    """The id a control row carries: the channel name after its last `-`."""
    return channel.rsplit("-", 1)[-1]


def live_player(conf_exten: str, server_ip: str) -> sa.Select[tuple[str]]:
    """The players live in a conference (`live_channels.channel`), first by name."""
    C, M = live_channels.c, vicidial_manager.c
    started = sa.select(M.channel).where(
        M.server_ip == server_ip, M.action == "Originate", M.status == "UPDATED",
        M.cmd_line_d == f"Exten: {PLAY_EXTEN}", M.channel != "")
    return (sa.select(C.channel)
            .where(C.extension == conf_exten, C.server_ip == server_ip,
                   sa.or_(C.channel.startswith(UPSTREAM_PREFIX, autoescape=True), C.channel.in_(started)))
            .order_by(C.channel).limit(1))
