"""The login and consent pages of /oauth/authorize: server-rendered HTML, no JavaScript, in
English and Chinese, with the field names of DESIGN §12 (`email`, `password`, and submit
buttons `decision=approve|deny`); hidden inputs carry the CSRF token and the login ticket."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Literal

from gateway.oauth.scopes import AREA_LABELS, AREAS

Lang = Literal["en", "zh-CN"]

TEXT: dict[str, dict[Lang, str]] = {
    "title_login": {"en": "Sign in to authorise {app}", "zh-CN": "登录以授权 {app}"},
    "intro_login": {
        "en": "{app} wants to act for your organisation. Sign in first.",
        "zh-CN": "{app} 请求代表您的组织进行操作。请先登录。",
    },
    "email": {"en": "Email", "zh-CN": "邮箱"},
    "password": {"en": "Password", "zh-CN": "密码"},
    "sign_in": {"en": "Sign in", "zh-CN": "登录"},
    "title_consent": {"en": "Authorise {app}?", "zh-CN": "授权 {app}？"},
    "intro_consent": {
        "en": "Signed in as {email}. {app} asks to act for {party} with these permissions:",
        "zh-CN": "当前登录：{email}。{app} 请求以下权限，代表 {party} 进行操作：",
    },
    "read": {"en": "Read", "zh-CN": "读取"},
    "write": {"en": "Read and change", "zh-CN": "读取和修改"},
    "approve": {"en": "Allow", "zh-CN": "允许"},
    "deny": {"en": "Deny", "zh-CN": "拒绝"},
    "revoke_hint": {
        "en": "You can withdraw this at any time (authorised apps, /v1/authorizations).",
        "zh-CN": "您可以随时撤销此授权（已授权应用，/v1/authorizations）。",
    },
    "bad_login": {"en": "The email or password is not right.", "zh-CN": "邮箱或密码不正确。"},
    "locked": {
        "en": "Too many failed sign-ins. Try again in {seconds} seconds.",
        "zh-CN": "登录失败次数过多，请在 {seconds} 秒后重试。",
    },
    "not_yours": {
        "en": "This app belongs to another organisation: you cannot authorise it.",
        "zh-CN": "此应用属于其他组织，您无法授权。",
    },
    "error_title": {"en": "This request cannot be completed", "zh-CN": "无法完成此请求"},
    "expired": {
        "en": "Your sign-in page expired or your browser does not keep cookies. Start again from the app.",
        "zh-CN": "登录页面已过期，或浏览器未保存 Cookie。请从应用重新开始。",
    },
    "operator": {"en": "the platform operator", "zh-CN": "平台运营方"},
}


def t(key: str, lang: Lang, **values: str) -> str:
    return TEXT[key][lang].format(**{name: escape(value) for name, value in values.items()})


def choose_language(ui_locales: str | None, accept_language: str | None) -> Lang:
    """`ui_locales` (OpenID Connect's parameter) first, then the browser's Accept-Language."""
    for tag in (ui_locales or "").split():
        if tag.lower().startswith("zh"):
            return "zh-CN"
        if tag.lower().startswith("en"):
            return "en"
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.strip().lower()))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;
background:#f5f6f8;color:#1d2230;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.5rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem;font-weight:600}
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;
border:1px solid #8a90a0;border-radius:.3rem}
button{margin-top:1.2rem;margin-right:.6rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:.3rem;
border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}
button[value=deny]{background:#fff;color:#1d2230;border-color:#8a90a0}
button:focus,input:focus{outline:3px solid #f59e0b;outline-offset:2px}
.error{color:#b91c1c;font-weight:600}ul{padding-left:1.2rem}li{margin:.3rem 0}
.hint{color:#4b5263;font-size:.9rem}
"""


def _page(lang: Lang, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def login_page(lang: Lang, app: str, action: str, csrf: str, email: str = "", error: str | None = None) -> str:
    title = t("title_login", lang, app=app)
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>{title}</h1><p>{t('intro_login', lang, app=app)}</p>{problem}"
        f'<form method="post" action="{escape(action)}">{_hidden("csrf_token", csrf)}'
        f'<label for="email">{t("email", lang)}</label>'
        f'<input id="email" name="email" type="email" autocomplete="username" required value="{escape(email)}">'
        f'<label for="password">{t("password", lang)}</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        f'<button type="submit">{t("sign_in", lang)}</button></form>'
    )
    return _page(lang, title, body)


@dataclass(frozen=True)
class Consent:
    app: str
    party: str
    email: str
    scopes: list[str]


def scope_label(scope: str, lang: Lang) -> str:
    verb, _, area = scope.partition(":")
    what = AREA_LABELS.get(lang, {}).get(area) or AREAS.get(area, area)
    return f"{t('read' if verb == 'read' else 'write', lang)}: {escape(what)} <code>{escape(scope)}</code>"


def consent_page(lang: Lang, consent: Consent, action: str, csrf: str, ticket: str) -> str:
    title = t("title_consent", lang, app=consent.app)
    items = "".join(f"<li>{scope_label(scope, lang)}</li>" for scope in consent.scopes)
    body = (
        f"<h1>{title}</h1><p>{t('intro_consent', lang, email=consent.email, app=consent.app, party=consent.party)}</p>"
        f"<ul>{items}</ul>"
        f'<form method="post" action="{escape(action)}">{_hidden("csrf_token", csrf)}{_hidden("login", ticket)}'
        f'<button type="submit" name="decision" value="approve">{t("approve", lang)}</button>'
        f'<button type="submit" name="decision" value="deny">{t("deny", lang)}</button></form>'
        f'<p class="hint">{t("revoke_hint", lang)}</p>'
    )
    return _page(lang, title, body)


def error_page(lang: Lang, detail: str) -> str:
    title = t("error_title", lang)
    return _page(lang, title, f'<h1>{title}</h1><p class="error" role="alert">{escape(detail)}</p>')
