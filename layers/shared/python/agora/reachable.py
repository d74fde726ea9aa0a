"""Is anything listening where a dependency should be?  The half-open step of Agora's circuit breakers.

After a dependency failed, a container stops calling it for a short back-off (``agora.db``, the
token denylist, the cache).  Waiting the back-off out would also refuse the first requests after the
dependency is back; instead, while backing off, a request asks this first: a TCP connection to the
dependency's port, bounded by a fraction of a second.  Nothing listening: refuse at once.  Something
listening: try the real call, which closes the circuit when it succeeds.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

REDIS_PORT = 6379
# On a loopback or in a VPC a listening port answers within a millisecond or two.
PROBE_TIMEOUT_S = 0.1


def port_answers(host: str, port: int, timeout_s: float) -> bool:
    """A TCP connection to ``host:port`` opens within ``timeout_s``.  A Unix socket path always counts."""
    if not host or host.startswith("/"):
        return True
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def url_answers(url: str, default_port: int, timeout_s: float) -> bool:
    """``port_answers`` for a URL such as ``redis://host:6379/0``; a URL naming no host, never."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return True
    if not parts.hostname:
        return False
    return port_answers(parts.hostname, parts.port or default_port, timeout_s)


def redis_answers(url: str | None) -> bool:
    return url_answers(url or "", REDIS_PORT, PROBE_TIMEOUT_S)
