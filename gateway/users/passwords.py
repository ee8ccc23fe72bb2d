"""Password hashing: Argon2id (memory-hard, RFC 9106) through argon2-cffi.

Hashing costs tens of milliseconds of CPU and 64 MiB on purpose, so it runs in a worker
thread: the event loop keeps serving while one login is checked. A login for an unknown
email verifies against a dummy hash, so the answer takes as long as for a real account and
does not tell which emails exist.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: argon2-cffi's defaults (RFC 9106's second recommended profile: t=3, m=64 MiB, p=4)
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with `stored=None` (no such user) as slow as a check."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """True when `stored` was made with weaker parameters than today's: rehash at next login."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
