"""Exponential backoff on failed logins, per account and per client IP.

A key (the normalised email, or the client IP) may fail ``free`` times within a window
(the counter is forgotten ``window_s`` after its last failure).  After that, each
attempt must wait ``2**(n - free)`` seconds since the last failure, at most
``max_delay_s``, where ``n`` is the failures counted so far; an earlier attempt is
refused with 429 ``RATE_LIMITED`` without checking the password.  A refused attempt is
not a failure: waiting the announced time always buys one more try.  A success resets
the account's counter, never the IP's (one valid account must not clear an IP's budget).

Unknown emails are counted and throttled exactly like known ones, so neither the
status nor the body tells whether an account exists.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from agora.errors import AgoraError
from users.service.ports import Failures, LoginAttempts


class RateLimited(AgoraError):
    status = 429
    code = "RATE_LIMITED"
    title = "Too many attempts"


@dataclass(frozen=True)
class Budget:
    free: int
    max_delay_s: int

    def wait_s(self, failures: Failures | None, now: float) -> int:
        """Seconds the next attempt must still wait (0: it may go ahead)."""
        if failures is None or failures.count < self.free:
            return 0
        delay: int = min(2 ** min(failures.count - self.free, 32), self.max_delay_s)
        return max(0, math.ceil(failures.last_at + delay - now))


@dataclass(frozen=True)
class LoginPolicy:
    account: Budget = Budget(free=5, max_delay_s=900)
    ip: Budget = Budget(free=50, max_delay_s=900)
    window_s: int = 3600


def account_key(email: str) -> str:
    # A digest: the table holds no email of someone who merely tried to log in.
    return "ACCOUNT#" + hashlib.sha256(email.encode()).hexdigest()


def ip_key(source_ip: str) -> str:
    return "IP#" + source_ip


def check(attempts: LoginAttempts, policy: LoginPolicy, email: str, source_ip: str, now: float) -> None:
    """Refuse the attempt when the account or the IP must still wait."""
    waits = [
        policy.account.wait_s(attempts.failures(account_key(email), now - policy.window_s), now),
        policy.ip.wait_s(attempts.failures(ip_key(source_ip), now - policy.window_s), now),
    ]
    if (wait := max(waits)) > 0:
        raise RateLimited(f"too many failed logins; try again in {wait} s", retry_after_s=wait)


def failed(attempts: LoginAttempts, policy: LoginPolicy, email: str, source_ip: str, now: float) -> None:
    for key in (account_key(email), ip_key(source_ip)):
        attempts.record_failure(key, now, policy.window_s)


def succeeded(attempts: LoginAttempts, email: str) -> None:
    attempts.reset(account_key(email))
