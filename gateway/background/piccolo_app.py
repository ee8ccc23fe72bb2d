import os

from piccolo.conf.apps import AppConfig

from gateway.background.models import JobLease

APP_CONFIG = AppConfig(
    app_name="background",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[JobLease],
)
