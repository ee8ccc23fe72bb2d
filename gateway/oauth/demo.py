"""`gateway demo`'s OAuth part: a channel user who can log in at /oauth/authorize, a
confidential client of the channel, the user's consent to it, and how to try both flows."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.parse
from typing import Any

from gateway.oauth import clients
from gateway.oauth.authorizations import record_consent
from gateway.oauth.schemas import OAuthClientCreate
from gateway.storage import db
from gateway.tenancy.principal import Principal
from gateway.tenancy.schemas import ChannelOwner
from gateway.users import services as users
from gateway.users.schemas import UserCreate

REDIRECT_URI = "http://127.0.0.1:8765/callback"
PASSWORD = "pedal-city-demo"  # noqa: S105 - the demo's published password, for trying the login page
SCOPES = ["read:catalogue", "write:orders", "read:fulfilment", "read:events", "read:parties", "read:locations"]


async def seed(operator: Principal, world: dict[str, Any]) -> dict[str, Any]:
    channel_id = world["channel_id"]
    user = await users.create(
        operator,
        UserCreate(
            email="ops@pedal-city.example",
            password=PASSWORD,
            owner=ChannelOwner(id=channel_id),
            name="Pedal City operations",
            locale="zh-CN",
        ),
    )
    client = await clients.create(
        operator,
        OAuthClientCreate(
            name="Pedal City order desk",
            owner=ChannelOwner(id=channel_id),
            grant_types=["client_credentials", "authorization_code", "refresh_token"],
            scopes=SCOPES,
            redirect_uris=[REDIRECT_URI],
        ),
    )
    user_row = {"id": user.id, "owner_type": "channel", "owner_id": channel_id}
    async with db().transaction():
        await record_consent(operator.tenant_id, user_row, client.id, ["read:catalogue"])
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": client.id,
            "redirect_uri": REDIRECT_URI,
            "scope": "read:catalogue write:orders",
            "state": "demo-state",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return {
        "user": {"id": user.id, "email": user.email, "password": PASSWORD},
        "client_id": client.id,
        "client_secret": client.client_secret,
        "redirect_uri": REDIRECT_URI,
        "pkce": {"code_verifier": verifier, "code_challenge": challenge},
        "authorize_url": f"http://127.0.0.1:8000/oauth/authorize?{query}",
    }


def try_lines(oauth: dict[str, Any]) -> list[str]:
    client = f"{oauth['client_id']}:{oauth['client_secret']}"
    return [
        f"curl -s -u '{client}' -d grant_type=client_credentials -d 'scope=read:catalogue write:orders' "
        "http://127.0.0.1:8000/oauth/token",
        f"open {oauth['authorize_url']}  # log in as {oauth['user']['email']} / {oauth['user']['password']}, "
        "then exchange the code:",
        f"curl -s -u '{client}' -d grant_type=authorization_code -d code=CODE_FROM_THE_REDIRECT "
        f"-d redirect_uri={oauth['redirect_uri']} -d code_verifier={oauth['pkce']['code_verifier']} "
        "http://127.0.0.1:8000/oauth/token",
    ]
