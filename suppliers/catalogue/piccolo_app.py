import os

from piccolo.conf.apps import AppConfig

from suppliers.catalogue.models import Product, Variant

APP_CONFIG = AppConfig(
    app_name="catalogue",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Product, Variant],
)
