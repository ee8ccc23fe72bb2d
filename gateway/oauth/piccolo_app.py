import os

from piccolo.conf.apps import AppConfig

from gateway.oauth.models import (
    OAuthAuthorization,
    OAuthClient,
    OAuthCode,
    OAuthRefreshToken,
    OAuthRevocation,
    OAuthSigningKey,
)

APP_CONFIG = AppConfig(
    app_name="oauth",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[OAuthClient, OAuthAuthorization, OAuthCode, OAuthRefreshToken, OAuthRevocation, OAuthSigningKey],
)
