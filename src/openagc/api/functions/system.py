"""`webserver`: facts about the server answering the API (no Apache here: the ASGI server's own)."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import time

from openagc import __version__
from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, verbatim


def _server_facts(call: Call) -> list[str]:
    tz_name = time.tzname[time.localtime().tm_isdst > 0]
    try:
        load = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        load = ""
    return [
        "Webserver Data:",
        f"set.timezone: {os.environ.get('TZ') or time.strftime('%Z')}",
        f"abbr.timezone: {tz_name}",
        f"dst.timezone: {1 if time.localtime().tm_isdst > 0 else 0}",
        f"uname: {' '.join(platform.uname())}",
        f"host name: {socket.gethostname()}",
        f"server name: {call.settings.server_name or call.settings.host}",
        f"python version: {platform.python_version()}",
        f"server software: openagc {__version__} on uvicorn",
        f"server processes: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 1} cores",
        f"system load average: {load}",
        f"disk free space: {shutil.disk_usage('/').free}",
    ]


@api_function("webserver", alt_user=False, logged_in=False, denied_subject=lambda call: ())
async def webserver(call: Call) -> Line:
    """Facts about the server answering: time zone, host, software, cores, load and free disk (upstream's list)."""
    lines = _server_facts(call)
    data = "".join(f"{line}\n" for line in lines)
    return verbatim("SUCCESS", "", f"<PRE>{data}</PRE>\n", *lines, data=data.replace("\n", "|")).ends()
