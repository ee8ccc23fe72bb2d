import os

from piccolo.conf.apps import AppConfig

from suppliers.models import Supplier

APP_CONFIG = AppConfig(
    app_name="suppliers",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Supplier],
)
