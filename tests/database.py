"""The test database as another client sees it."""

from django.db import connection


def dsn() -> str:
    """A psycopg connection string of Django's test database, for a connection of its own (a
    concurrent transaction, a lock held elsewhere)."""
    conf = connection.settings_dict
    password = f" password={conf['PASSWORD']}" if conf["PASSWORD"] else ""
    return (
        f"host={conf['HOST']} port={conf['PORT']} user={conf['USER']} dbname={conf['NAME']}"
        + password
    )
