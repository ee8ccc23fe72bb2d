"""The keys that sign access tokens: ES256 (P-256), kept in `oauth_signing_keys` and rotated.

Where they live: in the database, private parts sealed with the data keys of gateway.crypto
(AES-GCM, bound to the key's row), exactly like consumer personal data. So what protects them
is what protects that data (`GATEWAY_DATA_KEYS`: the environment on PostgreSQL, the key file
beside the database on SQLite), and every gateway process, on one host or many, signs and
verifies with the same ring without copying key files around. `gateway keys rotate` of the
data keys re-seals them too (crypto.encrypted_columns).

Life of a key: `next` (published in the JWKS ahead of use, so that caches already hold it),
`current` (signs; one at a time), `previous` (published; verifies what it signed until that
expires), `retired` (unpublished, private part erased). `gateway keys signing ...` moves keys
along (see `generate`, `rotate`, `retire`). The first key is made by the first process to
start; processes race for it with one conditional insert.

Each process reloads the ring every `RELOAD_SECONDS`, and at once (at most once a second)
when it meets a token signed by a key it does not know: a rotation by the CLI or by another
process reaches it before any token signed with the new key can be refused.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from joserfc.jwk import ECKey, KeySet

from gateway import crypto
from gateway.clock import utcnow
from gateway.ids import new_id
from gateway.storage import db

ALG = "ES256"
CURVE = "P-256"
RELOAD_SECONDS = 2.0
#: the tenant part of the sealed private keys' context: these keys belong to no tenant
CONTEXT_TENANT = "platform"
PUBLISHED = ("next", "current", "previous")


class SigningKeyError(Exception):
    """A keyring operation that cannot be done (messages say why; never carry key material)."""


def _context(kid: str) -> str:
    return crypto.row_context(CONTEXT_TENANT, kid, "private_jwk")


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    status: str
    created_at: datetime
    activated_at: datetime | None
    deactivated_at: datetime | None
    retired_at: datetime | None


class SigningKeys:
    """This process's view of the ring."""

    def __init__(self) -> None:
        self.current: ECKey | None = None
        self.verifying = KeySet([])
        self.jwks: dict[str, Any] = {"keys": []}
        self._loaded_at = float("-inf")
        #: bumped on every reload that changed the published keys (verified-token caches key on it)
        self.generation = 0
        self._published: tuple[str, ...] = ()

    @property
    def due(self) -> bool:
        return time.monotonic() - self._loaded_at > RELOAD_SECONDS

    async def load(self) -> None:
        """Read the ring (no lock: the app may run on several event loops; a load is idempotent)."""
        rows = await db().fetch(
            "SELECT id, status, public_jwk, private_jwk FROM oauth_signing_keys "
            "WHERE status IN ('next', 'current', 'previous') ORDER BY id"
        )
        current: ECKey | None = None
        public: list[Any] = []
        for row in rows:
            public.append(ECKey.import_key(msgspec.json.decode(row["public_jwk"])))
            if row["status"] == "current" and row["private_jwk"]:
                current = ECKey.import_key(crypto.decrypt_json(row["private_jwk"], _context(row["id"])))
        published = tuple(key.kid or "" for key in public)
        if published != self._published:
            self.generation += 1
            self._published = published
        self.current = current
        self.verifying = KeySet(public)
        self.jwks = {"keys": [key.as_dict(private=False) for key in public]}
        self._loaded_at = time.monotonic()

    async def reload_if_due(self) -> None:
        if self.due:
            await self.load()

    async def reload_soon(self) -> bool:
        """Reload unless that happened less than a second ago; True if it reloaded."""
        if time.monotonic() - self._loaded_at < 1.0:
            return False
        await self.load()
        return True

    def forget(self) -> None:
        self._loaded_at = float("-inf")


ring = SigningKeys()


def _new_key() -> tuple[str, dict[str, Any], dict[str, Any]]:
    kid = new_id("sig")
    key = ECKey.generate_key(CURVE, parameters={"kid": kid, "alg": ALG, "use": "sig"})
    return kid, key.as_dict(private=False), key.as_dict(private=True)


async def _insert(status: str, *, current: bool) -> str:
    kid, public, private = _new_key()
    now = utcnow()
    await db().fetch(
        "INSERT INTO oauth_signing_keys (id, alg, public_jwk, private_jwk, status, current, created_at, activated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        kid,
        ALG,
        msgspec.json.encode(public).decode(),
        crypto.encrypt_json(private, _context(kid)),
        status,
        1 if current else None,
        now,
        now if current else None,
    )
    return kid


async def ensure_current() -> None:
    """Make the first signing key if there is none (every process tries; one insert wins)."""
    rows = await db().fetch("SELECT id FROM oauth_signing_keys WHERE current = 1")
    if not rows:
        await _insert("current", current=True)


async def generate() -> str:
    """A new key, published but not yet signing (`next`): run `rotate` once caches have it."""
    async with db().transaction():
        pending = await db().fetch("SELECT id FROM oauth_signing_keys WHERE status = 'next'")
        if pending:
            raise SigningKeyError(f"key {pending[0]['id']} is already waiting to sign: rotate to it first")
        return await _insert("next", current=False)


async def rotate() -> tuple[str, str | None]:
    """The `next` key (made now if there is none) starts signing; the current one becomes
    `previous` and keeps verifying what it signed. Returns (new current, previous)."""
    async with db().transaction():
        pending = await db().fetch("SELECT id FROM oauth_signing_keys WHERE status = 'next' ORDER BY id LIMIT 1")
        kid = pending[0]["id"] if pending else await _insert("next", current=False)
        now = utcnow()
        old = await db().fetch(
            "UPDATE oauth_signing_keys SET status = 'previous', current = NULL, deactivated_at = ? "
            "WHERE current = 1 RETURNING id",
            now,
        )
        await db().fetch(
            "UPDATE oauth_signing_keys SET status = 'current', current = 1, activated_at = ? WHERE id = ?", now, kid
        )
    return kid, old[0]["id"] if old else None


async def retire(kid: str | None, access_token_seconds: int, force: bool = False) -> list[str]:
    """Stop publishing previous keys and erase their private part: `kid`, or every previous key
    whose last token has expired. A key that may still verify live tokens is kept unless `force`."""
    rows = await db().fetch(
        "SELECT id, status, deactivated_at FROM oauth_signing_keys WHERE status = 'previous'"
        + (" AND id = ?" if kid else ""),
        *([kid] if kid else []),
    )
    if kid and not rows:
        raise SigningKeyError(f"{kid} is not a previous key (only keys that no longer sign can be retired)")
    safe_after = utcnow() - timedelta(seconds=access_token_seconds)
    retired = []
    for row in rows:
        deactivated = row["deactivated_at"]
        if isinstance(deactivated, str):
            deactivated = datetime.fromisoformat(deactivated)
        if not force and deactivated is not None and deactivated > safe_after:
            if kid:
                raise SigningKeyError(
                    f"{kid} stopped signing at {deactivated.isoformat()}: tokens it signed live until "
                    f"{(deactivated + timedelta(seconds=access_token_seconds)).isoformat()} (use --force to cut them off)"
                )
            continue
        await db().fetch(
            "UPDATE oauth_signing_keys SET status = 'retired', private_jwk = NULL, retired_at = ? WHERE id = ?",
            utcnow(),
            row["id"],
        )
        retired.append(row["id"])
    return retired


async def listing() -> list[KeyInfo]:
    rows = await db().fetch(
        "SELECT id, status, created_at, activated_at, deactivated_at, retired_at FROM oauth_signing_keys ORDER BY id"
    )
    return [
        KeyInfo(
            row["id"], row["status"], row["created_at"], row["activated_at"], row["deactivated_at"], row["retired_at"]
        )
        for row in rows
    ]
