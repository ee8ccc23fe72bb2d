import os

from piccolo.conf.apps import AppConfig

from channels.models import Channel

APP_CONFIG = AppConfig(
    app_name="channels",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Channel],
)
