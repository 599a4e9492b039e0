"""Admin building blocks shared by every app's admin modules."""

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Rows the admin shows but never adds, changes or deletes (money, audit, upstream records):
    they change only through their services."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
