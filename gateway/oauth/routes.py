"""Everything HTTP of the OAuth part of the kernel, for the app factory to mount."""

from __future__ import annotations

from typing import Any

import gateway.oauth.config  # noqa: F401 - registers the OAuth clean-up job with gateway.background
from gateway.oauth.authorize import ROUTES as AUTHORIZE
from gateway.oauth.controllers import ROUTES as CONTROLLERS
from gateway.oauth.endpoints import ROUTES as ENDPOINTS
from gateway.users.controllers import ROUTES as USERS

#: /oauth/* and /.well-known/*: authenticated by client credentials or a login, not a bearer token
PUBLIC_PATHS = ["^/oauth/", "^/\\.well-known/"]
ROUTES: list[Any] = [*ENDPOINTS, *AUTHORIZE, *CONTROLLERS, *USERS]
