import os

from piccolo.conf.apps import AppConfig

from channels.storefront.models import Cart, DemoShop

APP_CONFIG = AppConfig(
    app_name="storefront",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Cart, DemoShop],
)
