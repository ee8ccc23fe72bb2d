import os

from piccolo.conf.apps import AppConfig

from gateway.users.models import User

APP_CONFIG = AppConfig(
    app_name="users",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[User],
)
