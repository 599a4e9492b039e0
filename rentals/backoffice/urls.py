"""The back office's pages, under /admin/backoffice/, each behind the admin site's login."""

from django.contrib import admin
from django.urls import path

from rentals.backoffice import provider_ops, reports, views

app_name = "backoffice"

protected = admin.site.admin_view

urlpatterns = [
    path("search/", protected(views.search), name="search"),
    path("customers/<int:user_id>/", protected(views.customer), name="customer"),
    path(
        "customers/<int:user_id>/<slug:name>/",
        protected(views.customer_action),
        name="customer-action",
    ),
    path("reports/", protected(reports.reports_view), name="reports"),
    path("reports/<slug:table>.csv", protected(reports.reports_csv), name="reports-csv"),
    path("providers/", protected(provider_ops.providers_view), name="providers"),
    path(
        "providers/<int:provider_id>/<slug:name>/",
        protected(provider_ops.provider_action),
        name="provider-action",
    ),
]
