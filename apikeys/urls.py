from django.urls import path

from apikeys import api

urlpatterns = [
    path("auth/token", api.LoginTokenApi.as_view(), name="api-auth-token"),
    path("auth/token/", api.LoginTokenSlashApi.as_view()),
    path("api-keys/", api.ApiKeyListApi.as_view(), name="api-keys"),
    path("api-keys/<int:key_id>/", api.ApiKeyDetailApi.as_view(), name="api-key"),
    path(
        "api-keys/<int:key_id>/regenerate/",
        api.ApiKeyRegenerateApi.as_view(),
        name="api-key-regenerate",
    ),
]
