from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from smsbox.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["-created_at"]
    list_display = ["email", "tier", "is_verified", "is_staff", "last_activity_at", "created_at"]
    list_filter = ["tier", "is_verified", "is_staff", "is_active"]
    search_fields = ["email"]
    readonly_fields = ["created_at", "last_login", "last_activity_at", "verified_at"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Account",
            {"fields": ["tier", "is_verified", "verified_at", "banned_until", "webhook_url"]},
        ),
        ("Activity", {"fields": ["created_at", "last_login", "last_activity_at"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
