import os

from piccolo.conf.apps import AppConfig

from suppliers.fulfilment.models import FulfilmentOrder, SupplierScore

APP_CONFIG = AppConfig(
    app_name="fulfilment",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[FulfilmentOrder, SupplierScore],
)
