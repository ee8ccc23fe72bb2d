import os

from piccolo.conf.apps import AppConfig

from gateway.events.models import Event
from gateway.http.idempotency import IdempotencyRecord
from gateway.tenancy.models import ApiKey, CredentialRevision, Tenant

APP_CONFIG = AppConfig(
    app_name="gateway",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Tenant, ApiKey, Event, IdempotencyRecord, CredentialRevision],
)
