import os

from piccolo.conf.apps import AppConfig

from channels.listings.models import Listing, ListingPrice

APP_CONFIG = AppConfig(
    app_name="listings",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Listing, ListingPrice],
)
