import os

from piccolo.conf.apps import AppConfig

from channels.routing.models import LocationLoad, RoutingPolicy, RoutingRevision

APP_CONFIG = AppConfig(
    app_name="routing",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[RoutingPolicy, RoutingRevision, LocationLoad],
)
