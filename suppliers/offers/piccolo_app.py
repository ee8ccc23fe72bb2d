import os

from piccolo.conf.apps import AppConfig

from suppliers.offers.models import Offer

APP_CONFIG = AppConfig(
    app_name="offers",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Offer],
)
