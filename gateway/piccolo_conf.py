"""Piccolo's configuration: the engine the gateway is using (or the one the environment names),
and the apps whose migrations make up the schema: the kernel's and those of every installed
component (`gateway.components`)."""

from piccolo.conf.apps import AppRegistry

from gateway import components, storage
from gateway.settings import Settings

DB = storage.current_engine() or storage.make_engine(Settings.from_env())

#: every area with tables; `gateway.storage.all_tables` reads the same list
APPS = components.piccolo_app_names()

APP_REGISTRY = AppRegistry(apps=APPS)
