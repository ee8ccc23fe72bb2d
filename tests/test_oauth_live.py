"""OAuth 2.0 against a live `gateway serve`, driven by an independent client library
(`requests-oauth2client`, not authlib, which the server is built on), with tokens checked by
joserfc against the published JWKS (DESIGN §9, issue 9's acceptance).

The browser part of the code flow is a `requests.Session` that reads the real login and
consent pages and posts their forms as a browser would (hidden inputs carried as they are,
the cookie kept): no JavaScript is needed, and none is used.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from requests_oauth2client import OAuth2Client
from requests_oauth2client.exceptions import InvalidGrant
from servers import Server, serving

from gateway.crypto import load_keyring, use_keyring
from gateway.oauth.keyring import ring
from gateway.settings import Settings

pytestmark = pytest.mark.slow
GATEWAY = str(Path(sys.executable).parent / "gateway")
REDIRECT = "http://127.0.0.1:8765/callback"
PASSWORD = "correct horse battery"


class Forms(HTMLParser):
    """Every form of a page: its action and its named inputs and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action"), "method": attributes.get("method"), "fields": {}})
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            self.forms[-1]["fields"].setdefault(attributes["name"], []).append(attributes.get("value") or "")


def only_form(html: str) -> dict[str, Any]:
    parser = Forms()
    parser.feed(html)
    assert len(parser.forms) == 1, f"expected one form: {html[:500]}"
    assert parser.forms[0]["method"] == "post"
    return parser.forms[0]


class World:
    def __init__(self, server: Server, other: Server, database_url: str) -> None:
        self.database_url = database_url
        self.server = server
        self.base = server.base
        self.other = other
        self.http = requests.Session()
        self.http.trust_env = False  # 127.0.0.1 only, never a proxy
        created = json.loads(
            subprocess.run(
                [GATEWAY, "tenant", "create", "OAuth live", "--json"],
                env={**os.environ, "GATEWAY_DATABASE_URL": database_url},
                capture_output=True,
                check=True,
                text=True,
            ).stdout
        )
        self.tenant_id = created["tenant"]["id"]
        self.operator = created["operator_key"]
        self.channel = self.post("/v1/channels", {"name": "Bike share", "kind": "partner_app"})["id"]
        self.supplier = self.post("/v1/suppliers", {"name": "Grocer"})["id"]
        self.email = "rider-ops@example.com"
        self.user = self.post(
            "/v1/users",
            {"email": self.email, "password": PASSWORD, "owner": {"type": "channel", "id": self.channel}},
        )
        self.app = self.post(
            "/v1/oauth-clients",
            {
                "name": "Mini-program vendor",
                "owner": {"type": "channel", "id": self.channel},
                "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
                "scopes": ["read:parties", "read:catalogue", "write:orders", "read:credentials"],
                "redirect_uris": [REDIRECT],
            },
        )
        self.public_app = self.post(
            "/v1/oauth-clients",
            {
                "name": "Mobile app",
                "owner": {"type": "channel", "id": self.channel},
                "grant_types": ["authorization_code", "refresh_token"],
                "scopes": ["read:parties"],
                "redirect_uris": [REDIRECT],
                "public": True,
            },
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(self.base + path, json=body, headers={"Authorization": f"Bearer {self.operator}"})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def oauth(self, app: dict[str, Any] | None = None, public: bool = False) -> OAuth2Client:
        """The independent client, configured from our RFC 8414 metadata."""
        app = app or (self.public_app if public else self.app)
        auth: Any = app["client_id"] if public else (app["client_id"], app["client_secret"])
        return OAuth2Client.from_discovery_endpoint(
            f"{self.base}/.well-known/oauth-authorization-server",
            issuer=self.base,
            auth=auth,
            redirect_uri=REDIRECT,
            testing=True,  # plain http on 127.0.0.1
        )

    def get(self, path: str, token: Any) -> requests.Response:
        return self.http.get(self.base + path, headers={"Authorization": f"Bearer {token}"})

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.http.get(f"{self.base}/.well-known/jwks.json").json())

    def code_flow(self, client: OAuth2Client, scope: str, email: str | None = None, password: str = PASSWORD) -> Any:
        """Authorization code + PKCE S256 through the real pages; the library checks state and iss."""
        request = client.authorization_request(scope=scope, redirect_uri=REDIRECT)
        assert "code_challenge_method=S256" in str(request.uri)
        browser = requests.Session()
        browser.trust_env = False
        login = browser.get(str(request.uri), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
        assert login.status_code == 200, login.text
        assert 'lang="zh-CN"' in login.text
        form = only_form(login.text)
        assert {"email", "password"} <= set(form["fields"])
        fields = {name: values[0] for name, values in form["fields"].items()}
        fields.update(email=email or self.email, password=password)
        consent = browser.post(self.base + form["action"], data=fields, allow_redirects=False)
        assert consent.status_code == 200, consent.text
        assert consent.headers["X-Frame-Options"] == "DENY"
        form = only_form(consent.text)
        assert form["fields"]["decision"] == ["approve", "deny"]
        fields = {name: values[0] for name, values in form["fields"].items() if name != "decision"}
        approved = browser.post(
            self.base + form["action"], data={**fields, "decision": "approve"}, allow_redirects=False
        )
        assert approved.status_code == 302, approved.text
        response = request.validate_callback(approved.headers["Location"])
        return client.authorization_code(response, validate=False)


@pytest.fixture(scope="module")
def world(database_url: str, database: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("oauth-live")
    (tmp / "other").mkdir()
    with serving(database_url, tmp) as (server,):
        # a second process on the same database, behind "the same load balancer": one issuer
        with serving(database_url, tmp / "other", GATEWAY_OAUTH_ISSUER=server.base) as (other,):
            yield World(server, other, database_url)


def test_client_credentials(world: World) -> None:
    client = world.oauth()
    token = client.client_credentials(scope="read:parties")
    assert token.scope == "read:parties" and token.expires_in and 3500 <= token.expires_in <= 3600
    assert token.refresh_token is None  # no refresh token without a user (RFC 6749 §4.4.3)
    claims = jwt.decode(str(token), world.jwks(), algorithms=["ES256"]).claims
    assert claims["client_id"] == claims["sub"] == world.app["client_id"]
    assert claims["owner"] == {"type": "channel", "id": world.channel}
    assert claims["tenant_id"] == world.tenant_id and claims["aud"] == f"{world.base}/v1"
    listed = world.get("/v1/channels", token)
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["data"]] == [world.channel]
    assert world.get(f"/v1/suppliers/{world.supplier}", token).status_code == 404  # a channel sees no supplier
    refused = world.get("/v1/orders", token)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="read:orders"' in refused.headers["WWW-Authenticate"]


def test_code_flow_with_pkce_refresh_rotation_and_reuse(world: World) -> None:
    client = world.oauth()
    first = world.code_flow(client, "read:parties write:orders")
    assert first.refresh_token and first.scope == "read:parties write:orders"
    claims = jwt.decode(str(first), world.jwks(), algorithms=["ES256"]).claims
    assert claims["sub"] == world.user["id"] and claims["owner"] == {"type": "channel", "id": world.channel}
    assert world.get("/v1/channels", first).status_code == 200
    assert world.get("/v1/orders", first).status_code == 200  # write:orders implies read:orders

    second = client.refresh_token(first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token  # rotated
    assert world.get("/v1/channels", second).status_code == 200

    with pytest.raises(InvalidGrant):  # the spent one again: a thief or a replay
        client.refresh_token(first.refresh_token)
    with pytest.raises(InvalidGrant):  # ... and the whole family is gone, the newest included
        client.refresh_token(second.refresh_token)
    assert world.get("/v1/channels", second).status_code == 401
    assert world.get("/v1/channels", first).status_code == 401

    consents = world.get(f"/v1/authorizations?user_id={world.user['id']}", world.operator).json()["data"]
    assert [c["client"]["id"] for c in consents] == [world.app["client_id"]]
    assert set(consents[0]["scopes"]) == {"read:parties", "write:orders"}
    events = world.get("/v1/events?limit=200", world.operator).json()["data"]
    assert consents[0]["id"] in [e["data"]["id"] for e in events if e["type"] == "authorization.created"]


def test_public_client_uses_pkce_without_a_secret(world: World) -> None:
    client = world.oauth(public=True)
    token = world.code_flow(client, "read:parties")
    assert world.get("/v1/channels", token).status_code == 200
    assert client.refresh_token(token.refresh_token).refresh_token


def test_a_code_works_once(world: World) -> None:
    client = world.oauth()
    request = client.authorization_request(scope="read:parties", redirect_uri=REDIRECT)
    browser = requests.Session()
    browser.trust_env = False
    form = only_form(browser.get(str(request.uri)).text)
    fields = {name: values[0] for name, values in form["fields"].items()}
    consent = browser.post(world.base + form["action"], data={**fields, "email": world.email, "password": PASSWORD})
    form = only_form(consent.text)
    fields = {name: values[0] for name, values in form["fields"].items() if name != "decision"}
    approved = browser.post(world.base + form["action"], data={**fields, "decision": "approve"}, allow_redirects=False)
    response = request.validate_callback(approved.headers["Location"])
    token = client.authorization_code(response, validate=False)
    assert world.get("/v1/channels", token).status_code == 200
    with pytest.raises(InvalidGrant):
        client.authorization_code(response, validate=False)
    assert world.get("/v1/channels", token).status_code == 401  # what the code gave is revoked


def test_revoke_then_introspect_and_the_other_process_refuses_within_a_second(world: World) -> None:
    client = world.oauth()
    token = client.client_credentials(scope="read:parties")
    assert client.introspect_token(token, token_type_hint="access_token")["active"] is True
    other = world.other.base
    assert world.http.get(f"{other}/v1/channels", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.revoke_access_token(token)
    revoked_at = time.monotonic()
    assert client.introspect_token(token, token_type_hint="access_token") == {"active": False}
    assert world.get("/v1/channels", token).status_code == 401
    while True:  # the other process learns it from the database, not from us
        status = world.http.get(f"{other}/v1/channels", headers={"Authorization": f"Bearer {token}"}).status_code
        if status == 401:
            break
        assert time.monotonic() - revoked_at < 1.0, "another process still accepts a revoked token after 1 s"
        time.sleep(0.05)

    code_token = world.code_flow(client, "read:parties")
    client.revoke_refresh_token(code_token.refresh_token)
    assert client.introspect_token(code_token.refresh_token, token_type_hint="refresh_token") == {"active": False}
    assert world.get("/v1/channels", code_token).status_code == 401  # the family's access token too


def _forge(claims: dict[str, Any], key: Any, header: dict[str, Any] | None = None) -> str:
    return jwt.encode(header or {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims, key)


async def test_expired_foreign_wrong_audience_none_and_tampered_tokens_are_401(world: World) -> None:
    client = world.oauth()
    token = str(client.client_credentials(scope="read:parties"))
    claims = jwt.decode(token, world.jwks(), algorithms=["ES256"]).claims
    assert world.get("/v1/channels", token).status_code == 200

    # signed by the gateway's own current key (read from the database as the server reads it)
    use_keyring(load_keyring(Settings.from_env()))
    await ring.load()
    key = ring.current
    assert key is not None
    now = int(time.time())
    expired = _forge({**claims, "iat": now - 7200, "exp": now - 3600}, key)
    wrong_audience = _forge({**claims, "aud": "https://elsewhere.example/v1"}, key)
    still_good = _forge({**claims, "jti": "forged-but-genuine-key"}, key)
    assert world.get("/v1/channels", still_good).status_code == 200  # the forging itself is sound

    foreign_key = ECKey.generate_key("P-256", parameters={"kid": key.kid, "alg": "ES256"})  # same kid!
    foreign = _forge(claims, foreign_key)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()).rstrip(b"=").decode()
    unsigned = f"{header}.{token.split('.')[1]}."
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["scope"] = "read:parties write:credentials"
    tampered = ".".join([head, base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode(), signature])
    for name, bad in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("another issuer's key", foreign),
        ("alg none", unsigned),
        ("tampered", tampered),
    ]:
        response = world.get("/v1/channels", bad)
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], name


def test_a_token_of_another_deployment_is_401(world: World, tmp_path: Path) -> None:
    """Another gateway (its own database and keys) issues a genuine token: ours refuses it."""
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    with serving(url, tmp_path, GATEWAY_OAUTH_ISSUER=world.base) as (elsewhere,):
        created = json.loads(
            subprocess.run(
                [GATEWAY, "tenant", "create", "Elsewhere", "--json"],
                env={**os.environ, "GATEWAY_DATABASE_URL": url},
                capture_output=True,
                check=True,
                text=True,
            ).stdout
        )
        headers = {"Authorization": f"Bearer {created['operator_key']}"}
        app = requests.post(
            f"{elsewhere.base}/v1/oauth-clients",
            json={
                "name": "x",
                "owner": {"type": "operator"},
                "grant_types": ["client_credentials"],
                "scopes": ["read:parties"],
            },
            headers=headers,
        ).json()
        token = requests.post(
            f"{elsewhere.base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(app["client_id"], app["client_secret"]),
        ).json()["access_token"]
        assert (
            requests.get(f"{elsewhere.base}/v1/channels", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
    assert world.get("/v1/channels", token).status_code == 401


def test_jwks_verifies_tokens_before_and_after_a_key_rotation(world: World) -> None:
    client = world.oauth()
    before = client.client_credentials(scope="read:parties")
    old_kid = jwt.decode(str(before), world.jwks(), algorithms=["ES256"]).header["kid"]
    subprocess.run(
        [GATEWAY, "keys", "signing", "rotate"],
        env={**os.environ, "GATEWAY_DATABASE_URL": world.database_url},
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while True:  # the serving process picks the new key up by itself
        after = client.client_credentials(scope="read:parties")
        new_kid = jwt.decode(str(after), world.jwks(), algorithms=["ES256"]).header["kid"]
        if new_kid != old_kid:
            break
        assert time.monotonic() < deadline, "the server still signs with the old key 10 s after a rotation"
        time.sleep(0.2)
    published = {key.kid for key in world.jwks().keys}
    assert {old_kid, new_kid} <= published  # current and previous
    for token in (before, after):  # both verify against the JWKS, and both work
        jwt.decode(str(token), world.jwks(), algorithms=["ES256"])
        assert world.get("/v1/channels", token).status_code == 200


def test_brute_force_on_login_and_client_secret_is_limited(world: World) -> None:
    target = world.post(
        "/v1/oauth-clients",
        {
            "name": "Target",
            "owner": {"type": "channel", "id": world.channel},
            "grant_types": ["client_credentials", "authorization_code"],
            "scopes": ["read:parties"],
            "redirect_uris": [REDIRECT],
        },
    )
    client = world.oauth(target)
    request = client.authorization_request(scope="read:parties", redirect_uri=REDIRECT)
    browser = requests.Session()
    browser.trust_env = False
    page = browser.get(str(request.uri))
    form = only_form(page.text)
    fields = {name: values[0] for name, values in form["fields"].items()}
    victim = "victim@example.com"
    world.post("/v1/users", {"email": victim, "password": PASSWORD, "owner": {"type": "channel", "id": world.channel}})
    statuses = [
        browser.post(
            world.base + form["action"], data={**fields, "email": victim, "password": f"guess-{i}"}
        ).status_code
        for i in range(5)
    ]
    assert statuses == [401] * 5
    locked = browser.post(world.base + form["action"], data={**fields, "email": victim, "password": PASSWORD})
    assert locked.status_code == 429 and "Too many" in locked.text  # even the right password, for now

    wrong = [
        requests.post(
            f"{world.base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(target["client_id"], f"cs_wrong{i}"),
        )
        for i in range(5)
    ]
    assert [r.json()["error"] for r in wrong] == ["invalid_client"] * 5 and {r.status_code for r in wrong} == {401}
    refused = requests.post(
        f"{world.base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(target["client_id"], target["client_secret"]),
    )
    assert (
        refused.status_code == 429 and refused.json()["error"] == "invalid_client" and "Retry-After" in refused.headers
    )
