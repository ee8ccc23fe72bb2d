import os

from piccolo.conf.apps import AppConfig

from channels.orders.models import Order, Quote

APP_CONFIG = AppConfig(
    app_name="orders",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Quote, Order],
)
