import os

from piccolo.conf.apps import AppConfig

from channels.insight.models import Refusal

APP_CONFIG = AppConfig(
    app_name="insight",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Refusal],
)
