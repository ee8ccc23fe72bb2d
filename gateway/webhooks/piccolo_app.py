import os

from piccolo.conf.apps import AppConfig

from gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookFanout

APP_CONFIG = AppConfig(
    app_name="webhooks",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[WebhookEndpoint, WebhookDelivery, WebhookAttempt, WebhookFanout],
)
