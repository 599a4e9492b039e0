from django.contrib import admin
from django.urls import path

from smsbox import views

admin.site.site_header = "smsbox back office"
admin.site.site_title = "smsbox"
admin.site.index_title = "Operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/ping", views.healthz_ping, name="healthz-ping"),
]
