"""Piccolo's configuration: the engine the gateway is using (or the one the environment names),
and the apps whose migrations make up the schema."""

from piccolo.conf.apps import AppRegistry

from gateway import storage
from gateway.settings import Settings

DB = storage.current_engine() or storage.make_engine(Settings.from_env())

#: every domain area with tables; `gateway.storage.all_tables` reads the same list
APPS = [
    "gateway.piccolo_app",
    "gateway.background.piccolo_app",
    "gateway.users.piccolo_app",
    "gateway.oauth.piccolo_app",
    "gateway.webhooks.piccolo_app",
    "suppliers.piccolo_app",
    "suppliers.catalogue.piccolo_app",
    "suppliers.locations.piccolo_app",
    "suppliers.offers.piccolo_app",
    "suppliers.inventory.piccolo_app",
    "suppliers.fulfilment.piccolo_app",
    "channels.piccolo_app",
    "channels.listings.piccolo_app",
    "channels.routing.piccolo_app",
    "channels.orders.piccolo_app",
    "channels.statements.piccolo_app",
    "channels.insight.piccolo_app",
    "channels.storefront.piccolo_app",
]

APP_REGISTRY = AppRegistry(apps=APPS)
