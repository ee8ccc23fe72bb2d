import os

from piccolo.conf.apps import AppConfig

from suppliers.inventory.models import InventoryLevel, Movement, Reservation, Transfer

APP_CONFIG = AppConfig(
    app_name="inventory",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[InventoryLevel, Movement, Reservation, Transfer],
)
