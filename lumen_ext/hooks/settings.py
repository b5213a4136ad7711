"""What the hooks of one server process are configured with: the operator's choices, never the spec's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lumen_ext.cache.config import CacheConfig
    from lumen_ext.security.policy import Policy


@dataclass(frozen=True)
class Settings:
    policy: Policy | None = None
    """The security policy the guards enforce; ``None``: the default :class:`Policy`."""

    cache: CacheConfig | None = None
    """The stage cache's configuration; ``None``: no stage cache (Lumen computes every stage)."""

    public_url: str | None = None
    """Where browsers reach the server; Panel's assets and the tile proxy are served from there. ``None``:
    relative to the page."""

    proxy_tiles: bool = True
    """Fetch web-map tiles through the server (``--direct-tiles`` turns it off)."""

    without: tuple[str, ...] = ()
    """Hooks or groups the operator leaves out (``--without``): the upstream behaviour stays there, and in every
    hook that requires one of them."""
