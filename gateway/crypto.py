"""Encryption at rest of consumer personal data (DESIGN §3), with rotatable keys.

A value is sealed with AES-256-GCM under the *current* key of a `Keyring` and stored as an
ASCII token `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id in the token lets
any key of the ring open it, so keys rotate without a flag day: put a new key first, and old
tokens still decrypt until `gateway keys rotate` has re-encrypted them.

Every token is bound to a *context*, the row and field it belongs to
(`"{tenant_id}/{row_id}/{field}"`, see `row_context`), passed as associated data: a token
copied into another row or tenant fails authentication instead of revealing its plaintext.

Blind indexes (`blind_index`) are HMAC-SHA256 digests used to look a value up without
decrypting, e.g. a pickup code. Their key is *not* one of the rotating data keys: a digest
keyed by the current data key would change at every rotation and every stored digest would
stop matching. They use a separate index key (`GATEWAY_INDEX_KEY`) that rotation leaves
alone; per-purpose subkeys are derived from it with HKDF so that digests made for one
purpose never match another's. Replacing the index key means recomputing every stored
digest from its decrypted value (a re-index), which is a deliberate, separate operation.

Keys come from the settings (`GATEWAY_DATA_KEYS`, `GATEWAY_INDEX_KEY`). On embedded SQLite
with neither set, a key file is created next to the database file on first use; PostgreSQL
serves many processes that must share keys, so there the keys must be set.

Nothing here logs, and no error message carries a plaintext, a key or a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.settings import Settings

log = logging.getLogger("gateway")

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
#: short and free of the separators of tokens (`.`) and of GATEWAY_DATA_KEYS (`:` `,`)
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


class CryptoError(Exception):
    """Base of this module's errors; messages never carry a plaintext or a key."""


class KeyConfigError(CryptoError):
    """The keys in the settings are missing or malformed: the gateway must not start."""


class DecryptionError(CryptoError):
    """A token that does not open: malformed, tampered with, or bound to another context."""


class UnknownKeyError(DecryptionError):
    """A token sealed under a key id the keyring does not hold (a key removed too early?)."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict base64url without padding: one text per byte string, so no bit of a token can
    change without the bytes changing (the unused low bits of the last character would)."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as error:
        raise ValueError("not base64url") from error
    if _b64encode(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def row_context(tenant_id: str, row_id: str, field: str) -> str:
    """The associated data binding a value to its tenant, row and field."""
    return f"{tenant_id}/{row_id}/{field}"


def new_key_id() -> str:
    """`k` + the UTC date + 4 random hex digits: readable in tokens, sorts by creation."""
    return f"k{time.strftime('%Y%m%d', time.gmtime())}{secrets.token_hex(2)}"


def new_key_line() -> str:
    """A fresh data key in the `GATEWAY_DATA_KEYS` entry format, `id:base64url`."""
    return f"{new_key_id()}:{_b64encode(secrets.token_bytes(KEY_BYTES))}"


def new_index_key() -> str:
    """A fresh `GATEWAY_INDEX_KEY` value (base64url, 32 bytes)."""
    return _b64encode(secrets.token_bytes(KEY_BYTES))


class Keyring:
    """Named 256-bit data keys, the first of which encrypts, plus the blind-index key."""

    __slots__ = ("_aead", "_current", "_index_key", "_subkeys")

    def __init__(self, keys: Sequence[tuple[str, bytes]], index_key: bytes) -> None:
        if not keys:
            raise KeyConfigError("a keyring needs at least one data key")
        aead: dict[str, AESGCM] = {}
        for key_id, key in keys:
            if not _KEY_ID.match(key_id):
                raise KeyConfigError(f"key id {key_id!r} must be 1-16 of A-Z a-z 0-9 _ -")
            if key_id in aead:
                raise KeyConfigError(f"key id {key_id!r} appears twice")
            if len(key) != KEY_BYTES:
                raise KeyConfigError(f"data key {key_id!r} must be {KEY_BYTES} bytes, not {len(key)}")
            aead[key_id] = AESGCM(key)
        if len(index_key) != KEY_BYTES:
            raise KeyConfigError(f"the index key must be {KEY_BYTES} bytes, not {len(index_key)}")
        self._aead = aead
        self._current = keys[0][0]
        self._index_key = index_key
        self._subkeys: dict[str, bytes] = {}

    @classmethod
    def parse(cls, data_keys: str, index_key: str) -> Keyring:
        """From the settings' text forms; errors name the entry, never its key material."""
        keys: list[tuple[str, bytes]] = []
        for position, entry in enumerate(data_keys.split(","), start=1):
            key_id, sep, encoded = entry.strip().partition(":")
            try:
                if not sep:
                    raise ValueError("no ':'")
                key = _b64decode(encoded.strip())
            except ValueError:
                raise KeyConfigError(
                    f"GATEWAY_DATA_KEYS entry {position} is not `id:base64url-key` "
                    "(make one with `gateway keys generate`)"
                ) from None
            keys.append((key_id.strip(), key))
        try:
            index = _b64decode(index_key.strip())
        except ValueError:
            raise KeyConfigError(
                "GATEWAY_INDEX_KEY is not base64url (make one with `gateway keys generate --index`)"
            ) from None
        return cls(keys, index)

    @classmethod
    def ephemeral(cls) -> Keyring:
        """Random keys that live as long as the process: for an in-memory database only."""
        return cls([(new_key_id(), secrets.token_bytes(KEY_BYTES))], secrets.token_bytes(KEY_BYTES))

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aead)

    def __repr__(self) -> str:
        return f"Keyring(current={self._current!r}, keys={list(self._aead)!r})"

    # -- sealing ------------------------------------------------------------------------

    @staticmethod
    def _aad(key_id: str, context: str) -> bytes:
        # the version and key id are authenticated too; neither may contain '.', so unambiguous
        return f"{VERSION}.{key_id}.{context}".encode()

    def encrypt(self, plaintext: bytes, context: str) -> str:
        if not context:
            raise ValueError("a context is required: it binds the ciphertext to its row")
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[self._current].encrypt(nonce, plaintext, self._aad(self._current, context))
        return f"{VERSION}.{self._current}.{_b64encode(nonce + sealed)}"

    @staticmethod
    def _split(token: str) -> tuple[str, str, str]:
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise DecryptionError("not an encrypted value (expected v1.<key id>.<data>)")
        if parts[0] != VERSION:
            raise DecryptionError(f"unsupported encryption format {parts[0][:8]!r}")
        return parts[0], parts[1], parts[2]

    def key_id_of(self, token: str) -> str:
        return self._split(token)[1]

    def decrypt(self, token: str, context: str) -> bytes:
        _, key_id, payload = self._split(token)
        aead = self._aead.get(key_id)
        if aead is None:
            raise UnknownKeyError(
                f"encrypted under key {key_id[:16]!r}, which is not among the configured keys "
                f"{list(self._aead)!r}: put it back in GATEWAY_DATA_KEYS"
            )
        try:
            raw = _b64decode(payload)
        except ValueError:
            raise DecryptionError("encrypted value is corrupt (bad encoding)") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError("encrypted value is corrupt (too short)")
        try:
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(key_id, context))
        except InvalidTag:
            raise DecryptionError(
                "encrypted value failed authentication: tampered with, or copied from another row or tenant"
            ) from None

    def needs_rotation(self, token: str) -> bool:
        """True when `token` is not sealed under the current key (and format)."""
        return self._split(token)[1] != self._current

    def reencrypt(self, token: str, context: str) -> str | None:
        """The token sealed again under the current key, or None if it already is."""
        if not self.needs_rotation(token):
            return None
        return self.encrypt(self.decrypt(token, context), context)

    def encrypt_json(self, obj: Any, context: str) -> str:
        return self.encrypt(msgspec.json.encode(obj), context)

    def decrypt_json(self, token: str, context: str) -> Any:
        return msgspec.json.decode(self.decrypt(token, context))

    # -- blind index --------------------------------------------------------------------

    def blind_index(self, value: str, purpose: str) -> str:
        """A hex HMAC-SHA256 of `value` under a subkey of the index key for `purpose`.

        Stable across data-key rotation (see the module docstring). Normalise `value` before
        (case, spaces) as lookups will; put the tenant in `purpose` when equal values in two
        tenants must not produce equal digests.
        """
        if not purpose:
            raise ValueError("a purpose is required: it separates the digests of different fields")
        subkey = self._subkeys.get(purpose)
        if subkey is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"gateway blind index/{purpose}".encode())
            subkey = self._subkeys[purpose] = hkdf.derive(self._index_key)
        return hmac.new(subkey, value.encode(), hashlib.sha256).hexdigest()


# -- keys from the settings ------------------------------------------------------------

POSTGRES_NEEDS_KEYS = (
    "GATEWAY_DATA_KEYS and GATEWAY_INDEX_KEY must be set on PostgreSQL: every gateway process "
    "must share the keys that encrypt consumer personal data. Make them with "
    "`gateway keys generate` and `gateway keys generate --index`, keep them in your secret store, "
    "and set the same values for every process."
)


def key_file_path(database_path: str) -> Path:
    """`./gateway.db` → `./gateway.keys`: beside the database, backed up with it."""
    path = Path(database_path)
    return path.with_name(path.name + ".keys") if path.suffix == ".keys" else path.with_suffix(".keys")


def load_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe; raises `KeyConfigError` when the gateway must not
    start. On SQLite without keys set, reads (creating it on first use) the key file."""
    if settings.data_keys or settings.index_key:
        if not (settings.data_keys and settings.index_key):
            missing = "GATEWAY_INDEX_KEY" if settings.data_keys else "GATEWAY_DATA_KEYS"
            raise KeyConfigError(f"{missing} must be set too: GATEWAY_DATA_KEYS and GATEWAY_INDEX_KEY go together")
        return Keyring.parse(settings.data_keys, settings.index_key)
    if settings.dialect == "postgres":
        raise KeyConfigError(POSTGRES_NEEDS_KEYS)
    from gateway.storage import sqlite_path

    database_path = sqlite_path(settings.database_url)
    if database_path == ":memory:" or database_path.startswith("file::memory:"):
        return Keyring.ephemeral()  # the data dies with the process; so may its keys
    return _key_file_keyring(key_file_path(database_path))


_FILE_HEADER = """\
# Keys that encrypt consumer personal data in the SQLite database beside this file.
# Created by the gateway. Keep it secret (mode 0600) and back it up with the database:
# without it the encrypted data cannot be read. To rotate, put a line from
# `gateway keys generate` in front of GATEWAY_DATA_KEYS below followed by a comma, restart,
# then run `gateway keys rotate`. Never change GATEWAY_INDEX_KEY.
"""


def _key_file_keyring(path: Path) -> Keyring:
    if not path.exists():
        _create_key_file(path)
    try:
        text = path.read_text(encoding="ascii")
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError) as error:
        raise KeyConfigError(f"cannot read the key file {path}: {error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("key file %s is readable by others than its owner: chmod 600 it", path)
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    data_keys, index_key = values.get("GATEWAY_DATA_KEYS"), values.get("GATEWAY_INDEX_KEY")
    if not data_keys or not index_key:
        raise KeyConfigError(f"the key file {path} lacks GATEWAY_DATA_KEYS= or GATEWAY_INDEX_KEY=")
    try:
        return Keyring.parse(data_keys, index_key)
    except KeyConfigError as error:
        raise KeyConfigError(f"in the key file {path}: {error}") from None


def _create_key_file(path: Path) -> None:
    """Write the keys to a private temporary file, then hard-link it into place: the link
    fails if another process (a sibling worker) created the file first, and a reader never
    sees a half-written file."""
    content = f"{_FILE_HEADER}GATEWAY_DATA_KEYS={new_key_line()}\nGATEWAY_INDEX_KEY={new_index_key()}\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, content.encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return  # another process won; its keys are the ones
        if hasattr(os, "O_DIRECTORY"):
            directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        log.warning("created the key file %s for personal data: back it up with the database", path)
    except OSError as error:
        raise KeyConfigError(f"cannot create the key file {path}: {error.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)


# -- the process's keyring -------------------------------------------------------------

_keyring: Keyring | None = None


def use_keyring(ring: Keyring | None) -> Keyring | None:
    """Make `ring` the one `keyring()` returns (the app's startup and the CLI call this);
    None forgets it. Returns the previous one, so tests can put it back."""
    global _keyring
    previous, _keyring = _keyring, ring
    return previous


def keyring() -> Keyring:
    """The process's keyring; loaded from the environment's settings on first use if the app
    or CLI has not installed one."""
    global _keyring
    if _keyring is None:
        _keyring = load_keyring(Settings.from_env())
    return _keyring


def encrypt(plaintext: bytes, context: str) -> str:
    return keyring().encrypt(plaintext, context)


def decrypt(token: str, context: str) -> bytes:
    return keyring().decrypt(token, context)


def needs_rotation(token: str) -> bool:
    return keyring().needs_rotation(token)


def encrypt_json(obj: Any, context: str) -> str:
    return keyring().encrypt_json(obj, context)


def decrypt_json(token: str, context: str) -> Any:
    return keyring().decrypt_json(token, context)


def blind_index(value: str, purpose: str) -> str:
    return keyring().blind_index(value, purpose)


# -- rotation of stored values ---------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding tokens whose context is `row_context(tenant_id, id, field)`."""

    table: str
    column: str
    field: str
    #: the SQL giving the tenant part of the context (a constant for rows of no tenant)
    tenant_sql: str = "tenant_id"


#: every column holding tokens; `gateway keys rotate` re-encrypts these. The kernel's own are
#: listed here; a domain registers its columns with `encrypted_column` next to their table.
_ENCRYPTED_COLUMNS: list[EncryptedColumn] = [
    # the private parts of the OAuth signing keys (gateway.oauth.keyring), which belong to no tenant
    EncryptedColumn("oauth_signing_keys", "private_jwk", "private_jwk", tenant_sql="'platform'"),
    EncryptedColumn("webhook_endpoints", "secret", "secret"),
    EncryptedColumn("webhook_endpoints", "previous_secret", "previous_secret"),
]


def encrypted_column(table: str, column: str, field: str | None = None, tenant_sql: str = "tenant_id") -> None:
    """Declare a column holding tokens made with `row_context(tenant, id, field)` (field: the
    column's name unless said), so that `gateway keys rotate` re-encrypts it."""
    target = EncryptedColumn(table, column, field or column, tenant_sql)
    if target not in _ENCRYPTED_COLUMNS:
        _ENCRYPTED_COLUMNS.append(target)


def encrypted_columns() -> tuple[EncryptedColumn, ...]:
    return tuple(_ENCRYPTED_COLUMNS)


@dataclass
class RotationReport:
    key_id: str
    rotated: dict[str, int]
    #: ids of rows whose value did not decrypt with any configured key (left unchanged)
    failed: dict[str, list[str]]

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


async def rotate_stored(ring: Keyring | None = None, batch_size: int = 500) -> RotationReport:
    """Re-encrypt every stored token not under the current key, `batch_size` rows at a time.

    Safe while serving: each row is updated only if it still holds the token that was read
    (a value changed or erased meanwhile is left to its writer), and nothing else of the row
    changes. Idempotent: a second run finds nothing to do. A writer that puts back a token it
    read before the rotation reverts that row to the old key, which still decrypts; run this
    until it reports 0 before removing an old key.
    """
    from gateway.storage import db

    ring = ring or keyring()
    database = db()
    prefix = f"{VERSION}.{ring.current_id}."
    report = RotationReport(ring.current_id, {}, {})
    for target in encrypted_columns():
        name = f"{target.table}.{target.column}"
        report.rotated[name] = 0
        after = ""
        while True:
            rows = await database.fetch(
                f"SELECT id, {target.tenant_sql} AS tenant_id, {target.column} AS value FROM {target.table} "
                f"WHERE {target.column} IS NOT NULL AND substr({target.column}, 1, ?) <> ? AND id > ? "
                "ORDER BY id LIMIT ?",
                len(prefix),
                prefix,
                after,
                batch_size,
            )
            if not rows:
                break
            after = rows[-1]["id"]
            updates: list[tuple[str, str, str]] = []
            for row in rows:
                try:
                    fresh = ring.reencrypt(row["value"], row_context(row["tenant_id"], row["id"], target.field))
                except DecryptionError:
                    report.failed.setdefault(name, []).append(row["id"])
                    continue
                if fresh is not None:
                    updates.append((fresh, row["id"], row["value"]))
            if not updates:
                continue
            async with database.transaction():
                for fresh, row_id, old in updates:
                    done = await database.fetch(
                        f"UPDATE {target.table} SET {target.column} = ? WHERE id = ? AND {target.column} = ? "
                        "RETURNING id",
                        fresh,
                        row_id,
                        old,
                    )
                    report.rotated[name] += len(done)
    return report
