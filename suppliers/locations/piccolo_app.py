import os

from piccolo.conf.apps import AppConfig

from suppliers.locations.models import Location

APP_CONFIG = AppConfig(
    app_name="locations",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Location],
)
