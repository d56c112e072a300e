"""Who runs an experiment: the engine's name in storage, its heartbeat, and how to tell
that it is gone.

An engine writes ``host:pid:token`` as the experiment's owner and beats every
:data:`BEAT_INTERVAL` seconds. On the owner's own host a dead process is seen at once
(so ``resume`` right after a ``kill -9`` goes ahead); from elsewhere an owner is taken
for dead when it has not beaten for :data:`STALE_AFTER` seconds.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

BEAT_INTERVAL = 2.0
"""Seconds between an engine's heartbeats."""

STALE_AFTER = 30.0
"""An owner on another host whose heartbeat is older than this is taken for dead."""


def new_owner() -> str:
    """A fresh owner name for this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_gone(owner: str, silent_for: float) -> bool:
    """Whether the engine named ``owner`` has ended (``silent_for``: seconds since its beat)."""
    host, pid = owner.split(":")[:2]
    if host != socket.gethostname() or not pid.isdigit():
        return silent_for > STALE_AFTER
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")  # killed, not yet reaped


def live_owner(owner: str | None, beat: float | None) -> bool:
    """Whether an experiment with this owner and last beat has an engine running it."""
    return owner is not None and not owner_gone(owner, time.time() - (beat or 0.0))


def describe(owner: str, beat: float | None) -> str:
    """``pid 123 on host, alive 2s ago``: the owner for messages."""
    host, pid = owner.split(":")[:2]
    return f"pid {pid} on {host}, alive {time.time() - (beat or 0.0):.0f}s ago"
