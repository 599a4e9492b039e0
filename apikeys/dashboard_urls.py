"""The dashboard's API page (included at the site root by smsbox.urls)."""

from django.urls import path

from apikeys import views

urlpatterns = [
    path("api-access/", views.api_page, name="dashboard-api"),
    path("api-access/keys/", views.api_key_create_view, name="dashboard-api-key-create"),
    path(
        "api-access/keys/<int:key_id>/regenerate/",
        views.api_key_regenerate_view,
        name="dashboard-api-key-regenerate",
    ),
    path(
        "api-access/keys/<int:key_id>/revoke/",
        views.api_key_revoke_view,
        name="dashboard-api-key-revoke",
    ),
]
