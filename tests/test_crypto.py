"""Encryption at rest of consumer personal data (DESIGN §3): `gateway.crypto` and `gateway keys`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gateway import crypto
from gateway.app import create_app
from gateway.clock import utcnow
from gateway.crypto import DecryptionError, KeyConfigError, Keyring, UnknownKeyError, row_context
from gateway.ids import new_id
from gateway.settings import Settings
from gateway.storage import Database, db, make_engine, use

ROOT = Path(__file__).resolve().parent.parent
K1, K2, INDEX = secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(32)
CUSTOMER = {"name": "Zoë Ng", "phone": "+86 138 0000 0000", "address": "1 West Lake Rd, Hangzhou"}
NO_KEYS = {k: v for k, v in os.environ.items() if k not in ("GATEWAY_DATA_KEYS", "GATEWAY_INDEX_KEY")}


def b64(raw: bytes) -> str:
    return crypto._b64encode(raw)


def gateway(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    previous = crypto.use_keyring(None)
    crypto.use_keyring(previous)
    yield
    crypto.use_keyring(previous)


# -- sealing ----------------------------------------------------------------------------


def test_round_trip_gives_a_compact_ascii_token_with_version_and_key_id() -> None:
    ring = Keyring([("k1", K1)], INDEX)
    context = "ten_a/ord_1/customer"
    token = ring.encrypt("名字 and bytes \x00".encode(), context)
    assert token.isascii() and token.startswith("v1.k1.") and token.count(".") == 2
    assert ring.decrypt(token, context) == "名字 and bytes \x00".encode()
    assert ring.encrypt(b"same", context) != ring.encrypt(b"same", context)  # a fresh nonce each time
    sealed = ring.encrypt_json(CUSTOMER, context)
    assert "Zo" not in sealed and "138" not in sealed
    assert ring.decrypt_json(sealed, context) == CUSTOMER
    assert ring.decrypt(ring.encrypt(b"", context), context) == b""


def test_a_token_opens_only_in_its_own_row_field_and_tenant() -> None:
    ring = Keyring([("k1", K1)], INDEX)
    token = ring.encrypt_json(CUSTOMER, row_context("ten_a", "ord_1", "customer"))
    for elsewhere in (
        row_context("ten_a", "ord_2", "customer"),  # another row
        row_context("ten_b", "ord_1", "customer"),  # another tenant
        row_context("ten_a", "ord_1", "pickup_code"),  # another field
    ):
        with pytest.raises(DecryptionError, match="another row or tenant") as caught:
            ring.decrypt(token, elsewhere)
        assert not isinstance(caught.value, UnknownKeyError)
    with pytest.raises(ValueError, match="context"):
        ring.encrypt(b"x", "")


def test_a_tampered_token_fails() -> None:
    ring = Keyring([("k1", K1), ("k2", K2)], INDEX)
    token = ring.encrypt(b"+86 138 0000 0000", "t/o/customer")
    head, payload = token.rsplit(".", 1)
    for position in range(len(payload)):  # every character of nonce, ciphertext and tag
        flipped = "A" if payload[position] != "A" else "B"
        with pytest.raises(DecryptionError):
            ring.decrypt(f"{head}.{payload[:position]}{flipped}{payload[position + 1 :]}", "t/o/customer")
    for broken in (
        token[:-4],  # truncated
        f"{head}.{payload}AAAA",  # extended
        token.replace("v1.k1.", "v1.k2.", 1),  # relabelled to another known key
        token.replace("v1.", "v2.", 1),  # another format
        f"{head}.",  # no data
        "v1.k1.@@@@",  # not base64url
        "Zoë Ng",  # a plaintext where a token belongs
        "",
    ):
        with pytest.raises(DecryptionError):
            ring.decrypt(broken, "t/o/customer")


def test_an_unknown_key_id_fails_clearly() -> None:
    token = Keyring([("k1", K1)], INDEX).encrypt(b"Zoe", "t/o/customer")
    with pytest.raises(UnknownKeyError) as caught:
        Keyring([("k2", K2)], INDEX).decrypt(token, "t/o/customer")
    message = str(caught.value)
    assert "'k1'" in message and "GATEWAY_DATA_KEYS" in message and "Zoe" not in message


def test_rotation_old_tokens_decrypt_and_are_flagged_until_reencrypted() -> None:
    old = Keyring([("k1", K1)], INDEX)
    token = old.encrypt(b"1 West Lake Rd", "t/o/customer")
    assert not old.needs_rotation(token)
    rotated = Keyring([("k2", K2), ("k1", K1)], INDEX)
    assert rotated.current_id == "k2" and rotated.key_ids == ("k2", "k1")
    assert rotated.decrypt(token, "t/o/customer") == b"1 West Lake Rd"
    assert rotated.needs_rotation(token)
    fresh = rotated.reencrypt(token, "t/o/customer")
    assert fresh is not None and fresh.startswith("v1.k2.")
    assert not rotated.needs_rotation(fresh) and rotated.reencrypt(fresh, "t/o/customer") is None
    assert Keyring([("k2", K2)], INDEX).decrypt(fresh, "t/o/customer") == b"1 West Lake Rd"
    with pytest.raises(DecryptionError):
        rotated.needs_rotation("not a token")


def test_keys_parse_from_settings_text_and_errors_never_echo_key_material() -> None:
    line = crypto.new_key_line()
    key_id, key = line.split(":")
    ring = Keyring.parse(f" {line} , k1:{b64(K1)}", crypto.new_index_key())
    assert ring.key_ids == (key_id, "k1")
    secret = b64(K1)
    for data_keys, index_key, complaint in (
        (f"k1{secret}", b64(INDEX), "entry 1"),  # no ':'
        (f"k1:{secret},k2:{secret[:-1]}!", b64(INDEX), "entry 2"),
        (f"k1:{b64(K1[:16])}", b64(INDEX), "32 bytes"),
        (f"k1:{secret},k1:{b64(K2)}", b64(INDEX), "twice"),
        (f"bad.id:{secret}", b64(INDEX), "key id"),
        (f"k1:{secret}", secret[:20] + "*", "GATEWAY_INDEX_KEY"),
    ):
        with pytest.raises(KeyConfigError, match=complaint) as caught:
            Keyring.parse(data_keys, index_key)
        assert secret[:12] not in str(caught.value)
    assert key not in repr(ring) and b64(K1) not in repr(ring)
    settings = Settings(data_keys=line, index_key=b64(INDEX))
    assert key not in repr(settings) and b64(INDEX) not in repr(settings) and "<hidden>" in repr(settings)
    with pytest.raises(KeyConfigError, match="GATEWAY_INDEX_KEY must be set too"):
        crypto.load_keyring(Settings(data_keys=line))


# -- blind index ------------------------------------------------------------------------


def test_blind_index_is_stable_across_rotation_and_separated_by_purpose() -> None:
    index = bytes(range(32))
    before = Keyring([("k1", K1)], index)
    after = Keyring([("k2", K2), ("k1", K1)], index)
    assert before.blind_index("482913", "pickup_code") == after.blind_index("482913", "pickup_code")
    # a known answer: a stored digest must keep matching across releases of the gateway too
    assert before.blind_index("482913", "pickup_code") == (
        "1df229fc53cb270a00e8bbb3ca9c2808ac95e0486b5a31ca03f195f1e306981a"
    )
    assert before.blind_index("482913", "pickup_code") != before.blind_index("482913", "phone")
    assert before.blind_index("482913", "pickup_code") != before.blind_index("482914", "pickup_code")
    assert before.blind_index("482913", "pickup_code") != Keyring([("k1", K1)], INDEX).blind_index(
        "482913", "pickup_code"
    )


def test_the_module_functions_use_the_installed_keyring(restore_keyring: None) -> None:
    crypto.use_keyring(Keyring([("kmod", K1)], INDEX))
    token = crypto.encrypt_json(CUSTOMER, "t/o/customer")
    assert token.startswith("v1.kmod.") and not crypto.needs_rotation(token)
    assert crypto.decrypt_json(token, "t/o/customer") == CUSTOMER
    assert crypto.decrypt(crypto.encrypt(b"x", "c"), "c") == b"x"
    assert crypto.blind_index("v", "p") == Keyring([("other", K2)], INDEX).blind_index("v", "p")


# -- keys from the settings -------------------------------------------------------------


def test_sqlite_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'shop.db'}")
    first = crypto.load_keyring(settings)
    key_file = tmp_path / "shop.keys"
    assert key_file.exists() and list(tmp_path.iterdir()) == [key_file]  # no temporary left behind
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    content = key_file.read_text()
    token = first.encrypt_json(CUSTOMER, "t/o/customer")
    second = crypto.load_keyring(settings)
    assert key_file.read_text() == content
    assert second.current_id == first.current_id
    assert second.decrypt_json(token, "t/o/customer") == CUSTOMER
    assert second.blind_index("1", "p") == first.blind_index("1", "p")
    # keys set in the settings win over the file
    line = crypto.new_key_line()
    assert (
        crypto.load_keyring(
            Settings(database_url=settings.database_url, data_keys=line, index_key=b64(INDEX))
        ).current_id
        == line.split(":")[0]
    )
    # an in-memory database gets keys that die with it, and no file
    assert crypto.load_keyring(Settings(database_url="sqlite:///:memory:")).key_ids


def test_sqlite_key_file_race_has_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "race.keys"

    def load() -> str:
        return crypto._key_file_keyring(path).current_id

    async def many() -> list[str]:
        return list(await asyncio.gather(*(asyncio.to_thread(load) for _ in range(16))))

    assert len(set(asyncio.run(many()))) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.keys"]


def test_the_cli_needs_nothing_set_on_sqlite(tmp_path: Path) -> None:
    env = {**NO_KEYS, "GATEWAY_DATABASE_URL": "sqlite:///./gateway.db"}
    first = gateway("keys", "rotate", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("re-encrypted 0 rows")
    content = (tmp_path / "gateway.keys").read_text()
    assert gateway("keys", "rotate", env=env, cwd=tmp_path).returncode == 0
    assert (tmp_path / "gateway.keys").read_text() == content


def test_postgres_without_keys_refuses_to_start_with_a_clear_message() -> None:
    url = "postgresql://postgres@127.0.0.1:5432/never_reached"
    with pytest.raises(KeyConfigError, match="GATEWAY_DATA_KEYS and GATEWAY_INDEX_KEY must be set on PostgreSQL"):
        crypto.load_keyring(Settings(database_url=url))
    served = gateway("serve", "--port", "1", env={**NO_KEYS, "GATEWAY_DATABASE_URL": url})
    assert served.returncode == 2
    assert "must be set on PostgreSQL" in served.stderr and "Traceback" not in served.stderr
    assert "gateway keys generate" in served.stderr


async def test_the_app_refuses_to_start_on_postgres_without_keys(restore_keyring: None, database: Database) -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:5432/never_reached")
    app = create_app(settings, Database(make_engine(Settings(database_url="sqlite:///:memory:"))))
    refused = False
    try:
        async with AsyncTestClient(app=app):
            pass
    except* KeyConfigError:
        refused = True
    finally:
        use(database)  # had it started, the app would have bound its own database
    assert refused


def test_keys_generate_prints_usable_keys() -> None:
    data = gateway("keys", "generate", env=NO_KEYS)
    index = gateway("keys", "generate", "--index", env=NO_KEYS)
    assert data.returncode == index.returncode == 0
    line, index_key = data.stdout.strip(), index.stdout.strip()
    ring = Keyring.parse(f"{line},k1:{b64(K1)}", index_key)
    assert ring.current_id == line.split(":")[0]
    assert ring.decrypt(ring.encrypt(b"x", "c"), "c") == b"x"


# -- rotation of stored rows, on the real database ---------------------------------------


async def _insert_order(tenant_id: str, customer: str | None) -> str:
    order_id = new_id("order")
    await db().fetch(
        "INSERT INTO orders (id, tenant_id, channel_id, mode, currency, customer) VALUES (?, ?, ?, 'delivery', 'CNY', ?)",
        order_id,
        tenant_id,
        new_id("channel"),
        customer,
    )
    return order_id


async def _insert_fulfilment(tenant_id: str, order_id: str, pickup_code: str | None) -> str:
    fulfilment_id = new_id("fulfilment")
    await db().fetch(
        "INSERT INTO fulfilment_orders (id, tenant_id, order_id, channel_id, supplier_id, location_id, mode, currency, "
        "tier, status, pickup_code) VALUES (?, ?, ?, ?, ?, ?, 'pickup', 'CNY', 'T1', 'picked_up', ?)",
        fulfilment_id,
        tenant_id,
        order_id,
        new_id("channel"),
        new_id("supplier"),
        new_id("location"),
        pickup_code,
    )
    return fulfilment_id


async def _stored(table: str, column: str, row_id: str) -> Any:
    return (await db().fetch(f"SELECT {column} AS value FROM {table} WHERE id = ?", row_id))[0]["value"]


async def test_keys_rotate_reencrypts_stored_rows_under_the_current_key(database_url: str, database: Any) -> None:
    # The current key is the one the whole test run uses (tests/conftest.py), so rows other
    # tests stored stay readable; this test's rows are sealed under an older key.
    current = Keyring.parse(os.environ["GATEWAY_DATA_KEYS"], os.environ["GATEWAY_INDEX_KEY"])
    old_id = f"kold{secrets.token_hex(4)}"
    old = Keyring([(old_id, K1)], INDEX)
    tenant_a, tenant_b = new_id("tenant"), new_id("tenant")

    orders: list[tuple[str, str, dict[str, str]]] = []
    for tenant_id, name in ((tenant_a, "Ann"), (tenant_a, "Bo"), (tenant_b, "Cy")):
        order_id = await _insert_order(tenant_id, None)
        customer = {**CUSTOMER, "name": name}
        token = old.encrypt_json(customer, row_context(tenant_id, order_id, "customer"))
        await db().fetch("UPDATE orders SET customer = ? WHERE id = ?", token, order_id)
        orders.append((tenant_id, order_id, customer))
    pickup = await _insert_fulfilment(tenant_b, orders[2][1], None)
    code_token = old.encrypt(b"482913", row_context(tenant_b, pickup, "pickup_code"))
    await db().fetch("UPDATE fulfilment_orders SET pickup_code = ? WHERE id = ?", code_token, pickup)
    already = await _insert_order(tenant_a, None)
    already_token = current.encrypt_json(CUSTOMER, row_context(tenant_a, already, "customer"))
    await db().fetch("UPDATE orders SET customer = ? WHERE id = ?", already_token, already)
    erased = await _insert_order(tenant_a, None)
    # an OAuth signing key's private half, sealed like consumer data (a retired row: no process loads it)
    signing_kid = new_id("signing_key")
    private = {"kty": "EC", "crv": "P-256", "d": "test"}
    await db().fetch(
        "INSERT INTO oauth_signing_keys (id, alg, public_jwk, private_jwk, status, created_at) "
        "VALUES (?, 'ES256', '{}', ?, 'retired', ?)",
        signing_kid,
        old.encrypt_json(private, row_context("platform", signing_kid, "private_jwk")),
        utcnow(),
    )
    for tenant_id, order_id, _ in orders:  # before: only the old key opens them
        with pytest.raises(UnknownKeyError):
            current.decrypt(await _stored("orders", "customer", order_id), row_context(tenant_id, order_id, "customer"))

    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_DATA_KEYS": f"{os.environ['GATEWAY_DATA_KEYS']},{old_id}:{b64(K1)}",
    }
    result = gateway("keys", "rotate", "--batch-size", "1", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    # the kernel's columns, then the components' (gateway.crypto.encrypted_column)
    assert result.stdout.strip() == (
        f"re-encrypted 5 rows under key {current.current_id} (oauth_signing_keys.private_jwk: 1, "
        "webhook_endpoints.secret: 0, webhook_endpoints.previous_secret: 0, orders.customer: 3, "
        "fulfilment_orders.pickup_code: 1)"
    )
    sealed = await _stored("oauth_signing_keys", "private_jwk", signing_kid)
    assert current.decrypt_json(sealed, row_context("platform", signing_kid, "private_jwk")) == private

    for tenant_id, order_id, customer in orders:  # after: the current key alone opens them
        token = await _stored("orders", "customer", order_id)
        assert token.startswith(f"v1.{current.current_id}.")
        assert current.decrypt_json(token, row_context(tenant_id, order_id, "customer")) == customer
    code = await _stored("fulfilment_orders", "pickup_code", pickup)
    assert current.decrypt(code, row_context(tenant_b, pickup, "pickup_code")) == b"482913"
    assert await _stored("orders", "customer", already) == already_token  # already current: untouched
    assert await _stored("orders", "customer", erased) is None

    again = gateway("keys", "rotate", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("re-encrypted 0 rows")


async def test_rotation_leaves_a_row_it_cannot_decrypt_unchanged_and_names_it(database: Any) -> None:
    # This ring lacks the test run's key: rows other tests stored are reported, never changed.
    ring = Keyring([("kcur", K1), ("kprev", K2)], INDEX)
    tenant_id = new_id("tenant")
    good = await _insert_order(tenant_id, None)
    moved = await _insert_order(tenant_id, None)
    good_token = Keyring([("kprev", K2)], INDEX).encrypt(b"{}", row_context(tenant_id, good, "customer"))
    try:
        await db().fetch("UPDATE orders SET customer = ? WHERE id = ?", good_token, good)
        await db().fetch("UPDATE orders SET customer = ? WHERE id = ?", good_token, moved)  # copied to another row
        report = await crypto.rotate_stored(ring, batch_size=2)
        assert moved in report.failed["orders.customer"] and good not in report.failed["orders.customer"]
        assert await _stored("orders", "customer", moved) == good_token
        assert (await _stored("orders", "customer", good)).startswith("v1.kcur.")
        assert report.rotated["orders.customer"] == 1
    finally:
        await db().fetch("DELETE FROM orders WHERE id IN (?, ?)", good, moved)


async def test_rotation_never_restores_a_value_erased_while_it_ran(database: Any, monkeypatch: Any) -> None:
    """The erasure lands between the rotation's read and its write: the write must not undo it."""
    ring = Keyring([("kcur", K1), ("kprev", K2)], INDEX)
    tenant_id = new_id("tenant")
    order_id = await _insert_order(tenant_id, None)
    token = Keyring([("kprev", K2)], INDEX).encrypt_json(CUSTOMER, row_context(tenant_id, order_id, "customer"))
    await db().fetch("UPDATE orders SET customer = ? WHERE id = ?", token, order_id)
    real_transaction = database.transaction

    @contextlib.asynccontextmanager
    async def erase_first() -> AsyncIterator[None]:
        await db().fetch("UPDATE orders SET customer = NULL WHERE id = ?", order_id)  # the channel erases
        async with real_transaction():
            yield

    monkeypatch.setattr(database, "transaction", erase_first)
    report = await crypto.rotate_stored(ring)
    assert report.rotated["orders.customer"] == 0
    assert await _stored("orders", "customer", order_id) is None
