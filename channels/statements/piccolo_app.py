import os

from piccolo.conf.apps import AppConfig

from channels.statements.models import MoneyEntry, StatementClosing, StatementDay

APP_CONFIG = AppConfig(
    app_name="statements",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[MoneyEntry, StatementDay, StatementClosing],
)
