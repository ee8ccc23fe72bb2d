"""The authorization server in-process: RFC 6749 errors for malformed requests (never a 500),
the authorize endpoint's refusals, users and OAuth clients through the API, and what confines
a token (scopes, party, tenant). The flows themselves run against a live server in
`test_oauth_live.py`."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import Tenant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REDIRECT = "https://app.example.com/callback"
PASSWORD = "a long enough password"
ALL_GRANTS = ["client_credentials", "authorization_code", "refresh_token"]


async def make_client(tenant: Tenant, owner: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "App",
        "owner": owner or {"type": "operator"},
        "grant_types": ALL_GRANTS,
        "scopes": ["read:parties", "write:parties", "read:orders"],
        "redirect_uris": [REDIRECT],
        **fields,
    }
    response = await tenant.call("POST", "/v1/oauth-clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def token_for(tenant: Tenant, app: dict[str, Any], **form: str) -> Any:
    return await tenant.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        auth=(app["client_id"], app["client_secret"]),
    )


async def access_token(tenant: Tenant, app: dict[str, Any], scope: str | None = None) -> str:
    response = await token_for(tenant, app, **({"scope": scope} if scope else {}))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def oauth_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == error, response.text
    assert response.headers["cache-control"] == "no-store"


# -- the token endpoint's RFC 6749 errors -------------------------------------------------


async def test_malformed_token_requests_get_rfc6749_errors(tenant: Tenant) -> None:
    app = await make_client(tenant)
    post = tenant.client.post
    basic = (app["client_id"], app["client_secret"])
    oauth_error(
        await post("/oauth/token", json={"grant_type": "client_credentials"}, auth=basic), 400, "invalid_request"
    )
    oauth_error(
        await post(
            "/oauth/token",
            content=b"grant_type=%ff",
            auth=basic,
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        400,
        "invalid_request",
    )
    form = {"content-type": "application/x-www-form-urlencoded"}
    oauth_error(await post("/oauth/token", data={}, auth=basic), 400, "invalid_request")  # no content type
    oauth_error(await post("/oauth/token", content=b"", headers=form, auth=basic), 400, "unsupported_grant_type")
    oauth_error(await post("/oauth/token", data={"grant_type": "password"}, auth=basic), 400, "unsupported_grant_type")
    oauth_error(
        await post(
            "/oauth/token",
            content=b"grant_type=client_credentials&grant_type=client_credentials",
            auth=basic,
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        400,
        "invalid_request",
    )
    oauth_error(await post("/oauth/token", data={"grant_type": "client_credentials"}), 401, "invalid_client")
    oauth_error(await token_for(tenant, {**app, "client_secret": "cs_wrong"}), 401, "invalid_client")
    unknown = {"client_id": "cli_01jd0000000000000000000000", "client_secret": "cs_x"}
    oauth_error(await token_for(tenant, unknown), 401, "invalid_client")
    oauth_error(await token_for(tenant, app, scope="read:nothing"), 400, "invalid_scope")
    oauth_error(await token_for(tenant, app, scope="write:orders"), 400, "invalid_scope")  # not the client's
    oauth_error(
        await post("/oauth/token", data={"grant_type": "authorization_code"}, auth=basic), 400, "invalid_request"
    )
    oauth_error(
        await post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT},
            auth=basic,
        ),
        400,
        "invalid_grant",
    )
    oauth_error(await post("/oauth/token", data={"grant_type": "refresh_token"}, auth=basic), 400, "invalid_request")
    oauth_error(
        await post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "rt_nope"}, auth=basic),
        400,
        "invalid_grant",
    )
    machine = await make_client(tenant, grant_types=["client_credentials"], redirect_uris=[])
    oauth_error(
        await post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": "rt_x"},
            auth=(machine["client_id"], machine["client_secret"]),
        ),
        400,
        "unauthorized_client",
    )
    oauth_error(await post("/oauth/revoke", content=b"", headers=form, auth=basic), 400, "invalid_request")
    oauth_error(await post("/oauth/introspect", data={"token": "x"}), 401, "invalid_client")
    public = await make_client(tenant, public=True, grant_types=["authorization_code"])
    oauth_error(
        await post("/oauth/introspect", data={"token": "x", "client_id": public["client_id"]}), 401, "invalid_client"
    )
    oauth_error(
        await post("/oauth/token", data={"grant_type": "client_credentials", "client_id": public["client_id"]}),
        401,
        "invalid_client",
    )


FIELDS = [
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "token",
    "token_type_hint",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "client_credentials",
            "authorization_code",
            "refresh_token",
            "read:parties",
            "",
            REDIRECT,
            "cli_01jd0000000000000000000000",
            "a" * 60,
            "access_token",
            "refresh_token",
        ]
    ),
    st.text(max_size=40),
)


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
async def test_no_form_makes_the_token_endpoints_fail(tenant: Tenant, endpoint: str) -> None:
    """Whatever form arrives, the answer is an RFC 6749 error (or a success), never a 500."""
    app = await make_client(tenant)
    seen: set[int] = set()
    forms: list[tuple[dict[str, str], bool]] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(form=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6), use_basic=st.booleans())
    def draw(form: dict[str, str], use_basic: bool) -> None:  # Hypothesis draws; the loop below sends
        forms.append((form, use_basic))

    draw()
    for form, use_basic in forms:
        auth = (app["client_id"], app["client_secret"]) if use_basic else None
        response = await tenant.client.post(endpoint, data=form, auth=auth)
        assert response.status_code < 500, f"{form}: {response.status_code} {response.text}"
        if response.status_code >= 400:
            assert "error" in response.json(), response.text
        seen.add(response.status_code)
    assert {400, 401} & seen


# -- /oauth/authorize -----------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize_params(app: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    _, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "read:parties",
        "state": "s-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {k: v for k, v in params.items() if v is not None}


async def test_authorize_refuses_bad_requests_without_redirecting_to_unknown_places(tenant: Tenant) -> None:
    app = await make_client(tenant)
    get = tenant.client.get
    page = await get("/oauth/authorize", params=authorize_params(app))
    assert page.status_code == 200 and "<form" in page.text and 'name="password"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for bad in (
        authorize_params(app, client_id="cli_01jd0000000000000000000000"),
        authorize_params(app, redirect_uri="https://evil.example/callback"),
        authorize_params(app, redirect_uri=REDIRECT + "/more"),  # exact match only
        authorize_params(app, client_id=None),
    ):
        response = await get("/oauth/authorize", params=bad, follow_redirects=False)
        assert response.status_code == 400, (bad, response.text)
        assert "location" not in response.headers and response.headers["content-type"].startswith("text/html")

    for overrides, error in (
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),  # PKCE is required
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),  # RFC 7636 would default to plain
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "write:credentials"}, "invalid_scope"),
    ):
        response = await get("/oauth/authorize", params=authorize_params(app, **overrides), follow_redirects=False)
        assert response.status_code == 302, (overrides, response.text)
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        query = parse_qs(location.query)
        assert query["error"] == [error] and query["state"] == ["s-123"], (overrides, query)
        assert query["iss"] == ["http://testserver.local"]  # RFC 9207


async def test_authorize_posts_need_the_csrf_cookie_and_token(tenant: Tenant) -> None:
    app = await make_client(tenant)
    params = authorize_params(app)
    tenant.client.cookies.clear()
    forged = await tenant.client.post(
        "/oauth/authorize", params=params, data={"email": "a@b.example", "password": PASSWORD, "csrf_token": "x"}
    )
    assert forged.status_code == 400 and "<form" not in forged.text
    page = await tenant.client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    wrong_token = await tenant.client.post(
        "/oauth/authorize", params=params, data={"email": "a@b.example", "password": PASSWORD, "csrf_token": "x"}
    )
    assert wrong_token.status_code == 400
    tenant.client.cookies.clear()


# -- users and clients through the API -----------------------------------------------------


async def test_users_keep_passwords_to_themselves(tenant: Tenant) -> None:
    channel, channel_key = await tenant.channel()
    body = {"email": "Li.Lei@Example.com", "password": PASSWORD, "owner": {"type": "channel", "id": channel["id"]}}
    created = await tenant.call("POST", "/v1/users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "li.lei@example.com" and "password" not in user and PASSWORD not in created.text
    assert "hash" not in created.text and "argon2" not in created.text
    again = await tenant.call("POST", "/v1/users", json={**body, "email": "li.lei@EXAMPLE.com"})
    assert again.status_code == 409 and again.json()["type"] == "/problems/email-taken"
    short = await tenant.call("POST", "/v1/users", json={**body, "email": "x@y.example", "password": "short"})
    assert short.status_code == 400 and short.json()["errors"][0]["field"] == "password"
    listed = await tenant.call("GET", "/v1/users", key=channel_key)
    assert [u["id"] for u in listed.json()["data"]] == [user["id"]]
    supplier, supplier_key = await tenant.supplier()
    foreign = await tenant.call("POST", "/v1/users", key=supplier_key, json={**body, "email": "s@y.example"})
    assert foreign.status_code == 403
    assert (await tenant.call("GET", f"/v1/users/{user['id']}", key=supplier_key)).status_code == 404


async def test_clients_validate_redirects_and_grants(tenant: Tenant) -> None:
    for fields, status, field in (
        ({"redirect_uris": ["http://app.example.com/cb"]}, 400, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, 400, "redirect_uris[0]"),
        ({"redirect_uris": ["https://user@app.example.com/cb"]}, 400, "redirect_uris[0]"),
        ({"redirect_uris": []}, 409, "redirect_uris"),
        ({"public": True}, 409, "grant_types"),
        ({"grant_types": ["refresh_token"]}, 409, "grant_types"),
    ):
        response = await tenant.call(
            "POST",
            "/v1/oauth-clients",
            json={
                "name": "x",
                "owner": {"type": "operator"},
                "grant_types": ALL_GRANTS,
                "scopes": ["read:parties"],
                "redirect_uris": [REDIRECT],
                **fields,
            },
        )
        assert response.status_code == status, (fields, response.text)
        assert response.json()["errors"][0]["field"] == field
    loopback = await make_client(tenant, redirect_uris=["http://127.0.0.1:8765/cb", "http://[::1]/cb"])
    public = await make_client(tenant, public=True, grant_types=["authorization_code", "refresh_token"])
    assert loopback["client_secret"].startswith("cs_") and public["client_secret"] is None
    shown = await tenant.call("GET", f"/v1/oauth-clients/{loopback['id']}")
    assert "client_secret" not in shown.json() and loopback["client_secret"] not in shown.text


async def test_secret_rotation_and_deactivation(tenant: Tenant) -> None:
    app = await make_client(tenant)
    token = await access_token(tenant, app)
    assert (await tenant.call("GET", "/v1/channels", key=token)).status_code == 200
    rotated = (await tenant.call("POST", f"/v1/oauth-clients/{app['id']}/rotate-secret")).json()
    assert rotated["client_secret"] != app["client_secret"]
    oauth_error(await token_for(tenant, app), 401, "invalid_client")
    assert (await tenant.call("GET", "/v1/channels", key=token)).status_code == 401  # minted with the old secret
    fresh = await access_token(tenant, rotated)
    assert (await tenant.call("GET", "/v1/channels", key=fresh)).status_code == 200
    await tenant.call("POST", f"/v1/oauth-clients/{app['id']}/deactivate")
    assert (await tenant.call("GET", "/v1/channels", key=fresh)).status_code == 401
    oauth_error(await token_for(tenant, rotated), 401, "invalid_client")


# -- what confines a token ----------------------------------------------------------------


async def test_a_token_acts_only_for_its_party_with_its_scopes(tenant: Tenant) -> None:
    supplier, _ = await tenant.supplier("Grocer")
    channel, _ = await tenant.channel("Bikes")
    app = await make_client(
        tenant,
        owner={"type": "supplier", "id": supplier["id"]},
        scopes=["read:parties", "write:catalogue", "write:orders", "read:credentials"],
        grant_types=["client_credentials"],
        redirect_uris=[],
    )
    token = await access_token(tenant, app)
    suppliers = await tenant.call("GET", "/v1/suppliers", key=token)
    assert [s["id"] for s in suppliers.json()["data"]] == [supplier["id"]]
    assert (await tenant.call("GET", f"/v1/channels/{channel['id']}", key=token)).status_code == 404
    listing = await tenant.call(
        "POST", "/v1/listings", key=token, json={"sku": "X-1", "price": {"amount": 1, "currency": "CNY"}}
    )
    assert listing.status_code == 403  # write:orders or not, a supplier cannot act as a channel
    # a token cannot mint what reaches further than itself
    wider = await tenant.call(
        "POST", "/v1/api-keys", key=token, json={"owner": {"type": "supplier", "id": supplier["id"]}}
    )
    assert wider.status_code == 403
    assert (await tenant.call("GET", "/v1/api-keys", key=token)).status_code == 200  # read:credentials
    narrow = await access_token(tenant, app, scope="read:parties")
    refused = await tenant.call("GET", "/v1/oauth-clients", key=narrow)
    assert refused.status_code == 403 and 'scope="read:credentials"' in refused.headers["www-authenticate"]
    await tenant.call("POST", f"/v1/suppliers/{supplier['id']}/deactivate")
    assert (await tenant.call("GET", "/v1/suppliers", key=token)).status_code == 401
    oauth_error(await token_for(tenant, app), 401, "invalid_client")  # its clients cannot get new ones


async def test_another_tenants_token_finds_nothing(tenant: Tenant, new_tenant: Any) -> None:
    other = await new_tenant("Other")
    theirs = await make_client(other)
    token = await access_token(other, theirs)
    channel, _ = await tenant.channel()
    assert (await tenant.call("GET", f"/v1/channels/{channel['id']}", key=token)).status_code == 404
    assert (await tenant.call("GET", f"/v1/oauth-clients/{theirs['id']}")).status_code == 404
    mine = (await tenant.call("GET", "/v1/channels", key=token)).json()["data"]
    assert channel["id"] not in [c["id"] for c in mine]


async def test_discovery_documents(tenant: Tenant) -> None:
    metadata = (await tenant.client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == "http://testserver.local"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint"] == "http://testserver.local/oauth/token"
    jwks = (await tenant.client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"] and all(k["kty"] == "EC" and "d" not in k for k in jwks["keys"])
    from gateway.oauth.endpoints import metadata as build

    assert (
        build("https://gateway.example")["jwks_uri"] == "https://gateway.example/.well-known/jwks.json"
    )  # RFC 8414-valid


async def test_tokens_get_503_when_revocations_cannot_be_read(tenant: Tenant, monkeypatch: Any) -> None:
    """A process that cannot poll revocations refuses tokens rather than trust a stale list."""
    from gateway.oauth import revocation

    app = await make_client(tenant)
    token = await access_token(tenant, app)

    async def database_down() -> None:
        raise OSError("database unreachable")

    monkeypatch.setattr(revocation.cache, "refresh", database_down)
    monkeypatch.setattr(revocation.cache, "_fresh_at", float("-inf"))
    response = await tenant.call("GET", "/v1/channels", key=token)
    assert response.status_code == 503 and response.headers["retry-after"] == "1", response.text
    assert (await tenant.call("GET", "/v1/channels")).status_code == 200  # secret keys do not depend on it


async def test_the_signing_keyring_cli_steps(database: Any) -> None:
    """generate publishes a key before it signs; rotate makes it sign; retire refuses a key whose
    tokens may still be live (what `gateway keys signing …` runs)."""
    from gateway.oauth import keyring

    await keyring.ensure_current()
    kid = await keyring.generate()
    with pytest.raises(keyring.SigningKeyError):
        await keyring.generate()  # one waiting key at a time
    await keyring.ring.load()
    assert kid in {key["kid"] for key in keyring.ring.jwks["keys"]}  # published ahead of use
    assert keyring.ring.current is not None and keyring.ring.current.kid != kid
    current, previous = await keyring.rotate()
    assert current == kid and previous is not None
    with pytest.raises(keyring.SigningKeyError):
        await keyring.retire(previous, access_token_seconds=3600)  # it signed tokens an hour may still use
    assert await keyring.retire(None, access_token_seconds=3600) == []
    statuses = {info.kid: info.status for info in await keyring.listing()}
    assert statuses[kid] == "current" and statuses[previous] == "previous"
    await keyring.ring.load()
    assert {kid, previous} <= {key["kid"] for key in keyring.ring.jwks["keys"]}
    assert all("d" not in key for key in keyring.ring.jwks["keys"])  # never a private part
