"""/oauth/authorize: validate the request (authlib), log the user in, ask for consent, issue
the code. Three steps, no JavaScript, no server-side session:

1. `GET` validates the request and shows the login form. It sets a random cookie (the
   browser's nonce) if there is none.
2. `POST` with `email` + `password` checks them (Argon2id, brute force limited per account and
   address) and shows the consent page, carrying a *login ticket*: the user's id, the request's
   fingerprint and an expiry, sealed with AES-GCM (gateway.crypto) and bound to the nonce.
3. `POST` with `decision=approve|deny` opens the ticket, records the consent and redirects to
   the client with a code (or `access_denied`), `state` and `iss`.

CSRF: every form carries `csrf_token` = HMAC(nonce, request fingerprint); a post without the
cookie or with another token is refused. The pages forbid framing (clickjacking of the consent
button). A request whose client or redirect URI is wrong is never redirected: it gets an error
page (RFC 6749 §4.1.2.1); other errors go back to the client.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import urllib.parse
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie

from gateway import crypto
from gateway.oauth import lockout, pages
from gateway.oauth.authorizations import record_consent
from gateway.oauth.endpoints import load_clients, new_exchange, party_active
from gateway.oauth.server import Client, Exchange, Grantor, Reply, run, server
from gateway.oauth.server import Request as OAuthRequest
from gateway.storage import db
from gateway.tenancy import owners
from gateway.users import passwords
from gateway.users.services import find_for_login, rehash

COOKIE = "gateway_oauth"
TICKET_SECONDS = 600
MAX_QUERY = 4096

_HTML_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _html(content: str, status: int, form_target: str | None = None, cookie: Cookie | None = None) -> Response[Any]:
    targets = "'self'" + (f" {form_target}" if form_target else "")
    headers = {
        **_HTML_HEADERS,
        # the consent form's post redirects to the client: form-action must allow its origin
        "Content-Security-Policy": f"default-src 'none'; style-src 'unsafe-inline'; form-action {targets}; "
        "frame-ancestors 'none'; base-uri 'none'",
    }
    return Response(
        content=content,
        status_code=status,
        media_type="text/html; charset=utf-8",
        headers=headers,
        cookies=[cookie] if cookie else None,
    )


def _origin(uri: str | None) -> str | None:
    if not uri:
        return None
    parts = urllib.parse.urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _query_pairs(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    query = request.scope.get("query_string", b"").decode("latin-1")
    if len(query) > MAX_QUERY:
        return []
    return urllib.parse.parse_qsl(query, keep_blank_values=True, max_num_fields=64)


def _fingerprint(pairs: list[tuple[str, str]]) -> str:
    return hashlib.sha256(urllib.parse.urlencode(sorted(pairs)).encode()).hexdigest()


def _csrf(nonce: str, fingerprint: str) -> str:
    return crypto.blind_index(f"{nonce}|{fingerprint}", "oauth-csrf")


class _Step:
    """A validated authorize request: the exchange, the grant authlib made, the client."""

    def __init__(self, exchange: Exchange, grant: Any, client: Client, pairs: list[tuple[str, str]]) -> None:
        self.exchange = exchange
        self.grant = grant
        self.client = client
        self.pairs = pairs
        self.fingerprint = _fingerprint(pairs)
        self.action = "/oauth/authorize?" + urllib.parse.urlencode(pairs)

    @property
    def scopes(self) -> list[str]:
        return str(self.grant.request.scope or "").split()


async def _validate(request: Request[Any, Any, Any], lang: pages.Lang) -> _Step | Response[Any]:
    pairs = _query_pairs(request)
    exchange = new_exchange(request)
    client_id = dict(pairs).get("client_id")
    if client_id:
        exchange.clients = await load_clients([client_id])
    oauth_request = OAuthRequest(request.method, str(request.url), request.headers, pairs)
    try:
        grant = run(exchange, lambda: server.get_consent_grant(oauth_request, end_user=None))
    except OAuth2Error as error:
        return _error(error, exchange.issuer, lang)
    return _Step(exchange, grant, exchange.clients[grant.request.client.id], pairs)


def _error(error: OAuth2Error, issuer: str, lang: pages.Lang) -> Response[Any]:
    if error.redirect_uri:  # the client and its redirect URI are known good: tell the client
        status, _, headers = error()
        location = add_params_to_uri(dict(headers)["Location"], [("iss", issuer)])
        return Response(content=b"", status_code=status, headers={"Location": location, "Cache-Control": "no-store"})
    detail = f"{error.error}: {error.description}" if error.description else str(error.error)
    return _html(pages.error_page(lang, detail), 400)


def _language(request: Request[Any, Any, Any], user_locale: str | None = None) -> pages.Lang:
    asked = dict(_query_pairs(request)).get("ui_locales")
    if not asked and user_locale:
        asked = user_locale
    return pages.choose_language(asked, request.headers.get("accept-language"))


@get("/oauth/authorize", include_in_schema=False)
async def authorize_page(request: Request[Any, Any, Any]) -> Response[Any]:
    lang = _language(request)
    step = await _validate(request, lang)
    if isinstance(step, Response):
        return step
    nonce = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    cookie = Cookie(
        key=COOKIE,
        value=nonce,
        path="/oauth/authorize",
        httponly=True,
        samesite="lax",
        secure=step.exchange.issuer.startswith("https://"),
        max_age=1800,
    )
    page = pages.login_page(lang, step.client.name, step.action, _csrf(nonce, step.fingerprint))
    return _html(page, 200, cookie=cookie)


@post("/oauth/authorize", include_in_schema=False, status_code=200)
async def authorize_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    lang = _language(request)
    step = await _validate(request, lang)
    if isinstance(step, Response):
        return step
    form = await _form(request)
    nonce = request.cookies.get(COOKIE)
    if not nonce or form is None or not hmac.compare_digest(form.get("csrf_token", ""), _csrf(nonce, step.fingerprint)):
        return _html(pages.error_page(lang, pages.t("expired", lang)), 400)
    if "decision" in form:
        return await _decide(request, step, form, nonce, lang)
    return await _log_in(request, step, form, nonce, lang)


async def _form(request: Request[Any, Any, Any]) -> dict[str, str] | None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return None
    try:
        text = (await request.body()).decode("utf-8")
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=16, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        return None


async def _login_user(tenant_id: str, email: str) -> dict[str, Any] | None:
    """The user with this email, and whether their party is active."""
    user = await find_for_login(tenant_id, email)
    if user is None:
        return None
    rows = await db().fetch(
        f"SELECT CASE WHEN {party_active('u')} THEN 1 ELSE 0 END AS party_active FROM users u WHERE u.id = ?",
        user["id"],
    )
    return {**user, "party_active": bool(rows and rows[0]["party_active"])}


def _may_authorise(client: Client, user: dict[str, Any]) -> bool:
    """An operator's app may be authorised by anyone in the tenant; a party's only by its own."""
    return client.owner_type == "operator" or (client.owner_type, client.owner_id) == (
        user["owner_type"],
        user["owner_id"],
    )


async def _log_in(
    request: Request[Any, Any, Any], step: _Step, form: dict[str, str], nonce: str, lang: pages.Lang
) -> Response[Any]:
    email = form.get("email", "").strip().lower()[:254]
    password = form.get("password", "")[:1024]
    csrf = _csrf(nonce, step.fingerprint)
    tenant_id = step.client.tenant_id
    if wait := await lockout.login_wait(request, tenant_id, email):
        error = pages.TEXT["locked"][lang].format(seconds=wait)
        return _html(pages.login_page(lang, step.client.name, step.action, csrf, email, error), 429)
    user = await _login_user(tenant_id, email) if email else None
    ok = await passwords.verify_password(user["password_hash"] if user else None, password)
    ok = ok and user is not None and user["status"] == "active" and user["party_active"]
    await lockout.record_login(request, tenant_id, email, ok)
    if not ok or user is None:
        error = pages.TEXT["bad_login"][lang]
        return _html(pages.login_page(lang, step.client.name, step.action, csrf, email, error), 401)
    if passwords.needs_rehash(user["password_hash"]):
        await rehash(user["id"], user["password_hash"], password)
    if not _may_authorise(step.client, user):
        error = pages.TEXT["not_yours"][lang]
        return _html(pages.login_page(lang, step.client.name, step.action, csrf, email, error), 403)
    lang = _language(request, user["locale"])
    ticket = crypto.encrypt_json(
        {"u": user["id"], "t": tenant_id, "f": step.fingerprint, "x": int(time.time()) + TICKET_SECONDS},
        f"oauth-login/{nonce}",
    )
    consent = pages.Consent(step.client.name, await _party_name(user, lang), user["email"], step.scopes)
    page = pages.consent_page(lang, consent, step.action, csrf, ticket)
    return _html(page, 200, form_target=_origin(step.grant.redirect_uri))


async def _party_name(user: dict[str, Any], lang: pages.Lang) -> str:
    table = owners.registered().get(user["owner_type"])
    if table is None:
        return pages.TEXT["operator"][lang]
    rows = await db().fetch(
        f"SELECT name FROM {table} WHERE tenant_id = ? AND id = ?", user["tenant_id"], user["owner_id"]
    )
    return str(rows[0]["name"]) if rows else str(user["owner_id"])


def _open_ticket(ticket: str, nonce: str, step: _Step) -> str | None:
    try:
        sealed = crypto.decrypt_json(ticket, f"oauth-login/{nonce}")
    except crypto.CryptoError:
        return None
    if not isinstance(sealed, dict) or sealed.get("f") != step.fingerprint or sealed.get("t") != step.client.tenant_id:
        return None
    if not isinstance(sealed.get("x"), int) or sealed["x"] < time.time():
        return None
    user_id = sealed.get("u")
    return user_id if isinstance(user_id, str) else None


async def _decide(
    request: Request[Any, Any, Any], step: _Step, form: dict[str, str], nonce: str, lang: pages.Lang
) -> Response[Any]:
    user_id = _open_ticket(form.get("login", ""), nonce, step)
    rows = await db().fetch("SELECT email FROM users WHERE id = ?", user_id) if user_id else []
    user = await _login_user(step.client.tenant_id, rows[0]["email"]) if rows else None
    if user is None or user["status"] != "active" or not user["party_active"] or not _may_authorise(step.client, user):
        return _html(pages.error_page(lang, pages.t("expired", lang)), 400)
    oauth_request = step.grant.request
    if form.get("decision") != "approve":
        reply: Reply = run(
            step.exchange,
            lambda: server.create_authorization_response(oauth_request, grant_user=None, grant=step.grant),
        )
        return _redirect(reply)
    async with db().transaction():
        authorization_id = await record_consent(step.client.tenant_id, user, step.client.id, step.scopes)
    grantor = Grantor(user["id"], user["owner_type"], user["owner_id"], authorization_id, grant_id="")
    reply = run(
        step.exchange, lambda: server.create_authorization_response(oauth_request, grant_user=grantor, grant=step.grant)
    )
    if reply.status == 302 and reply.location and "code=" in reply.location:
        await step.exchange.commit()
    return _redirect(reply)


def _redirect(reply: Reply) -> Response[Any]:
    if reply.status != 302 or not reply.location:
        return Response(content=reply.body, status_code=reply.status, media_type="application/json")
    return Response(content=b"", status_code=302, headers={"Location": reply.location, "Cache-Control": "no-store"})


ROUTES: list[Any] = [authorize_page, authorize_submit]
