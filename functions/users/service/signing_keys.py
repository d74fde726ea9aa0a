"""Use cases of the token signing keys: the first key, a rotation, retiring what a rotation superseded.

The stack runs ``ensure`` on every deploy; operators run ``rotate`` and, once the overlap is over,
``retire`` (``users.handlers.signing_keys``).  The public key set is always rewritten from the ring, so
it never holds a key the ring does not, and it is written before the ring when a key is added (no
token is signed with a key no verifier can have) and after it when keys go.
"""

from __future__ import annotations

from dataclasses import dataclass

from agora.keys import SigningRing
from users.domain.tokens import ACCESS_TOKEN_TTL_S
from users.service.ports import KeyStore

# Room for clock skew and a slow secrets fetch on top of every wait below.
MARGIN_S = 60


@dataclass(frozen=True)
class KeyTimings:
    """How long any container may keep an old copy of either secret (``AGORA_SECRETS_MAX_AGE_S``)."""

    cache_age_s: int

    @property
    def publish_delay_s(self) -> int:
        """A new key is published this long before it signs, so every verifier has loaded it."""
        return self.cache_age_s + MARGIN_S

    @property
    def retire_after_s(self) -> int:
        """A superseded key stays published this long after its successor began to sign: a signer
        may still use its cached ring for ``cache_age_s`` and what it signed lives ``ACCESS_TOKEN_TTL_S``."""
        return self.cache_age_s + ACCESS_TOKEN_TTL_S + MARGIN_S


class RetireTooEarly(Exception):
    """Tokens signed with a superseded key may still be alive: retiring it now would log their holders out."""


def ensure(store: KeyStore, now: int) -> SigningRing:
    """The ring as it is, or a first key (active at once: nothing verifies tokens before the first deploy)."""
    ring = store.load()
    if not ring.keys:
        ring = ring.with_new_key(active_from=now)
        store.publish(ring.public_set())
        store.save(ring)
    else:
        store.publish(ring.public_set())
    return ring


def rotate(store: KeyStore, now: int, timings: KeyTimings, *, immediate: bool = False) -> SigningRing:
    """Add a key that signs from ``now + publish_delay_s``.

    ``immediate`` (a leaked ring): the new key signs from now, and keys still waiting for their turn
    are dropped, as exposed as the rest and about to take over from the new one.
    """
    ring = store.load()
    if immediate:
        ring = ring.without(ring.pending(now)).with_new_key(active_from=now)
    else:
        ring = ring.with_new_key(active_from=now + timings.publish_delay_s)
    store.publish(ring.public_set())
    store.save(ring)
    return ring


def retire(store: KeyStore, now: int, timings: KeyTimings, *, force: bool = False) -> SigningRing:
    """Drop the keys the active one superseded; ``force`` drops them even while their tokens live."""
    ring = store.load()
    old = ring.superseded(now)
    if old and not force:
        allowed_at = ring.active(now).active_from + timings.retire_after_s
        if now < allowed_at:
            raise RetireTooEarly(
                f"tokens signed with {', '.join(k.kid for k in old)} may live until {allowed_at} "
                f"(in {allowed_at - now} s); retire then, or force it to cut them off now"
            )
    ring = ring.without(old)
    store.save(ring)
    store.publish(ring.public_set())
    return ring
