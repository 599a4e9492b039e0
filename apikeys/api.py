"""REST API v1: the login token and API key management.

``POST /api/v1/auth/token`` trades an e-mail and password for a short-lived signed login token;
the API key endpoints accept only that token (``Authorization: Bearer <token>``), never an API
key, so a leaked key cannot mint or revoke keys.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core import signing
from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.authentication import api_key_from_request
from apikeys.selectors import api_key_get_for_user, api_keys_for_user
from apikeys.services import api_key_create, api_key_regenerate, api_key_revoke
from smsbox.api import error_responses
from smsbox.errors import ApplicationError
from smsbox.models import User

_TOKEN_SALT = "smsbox.api-login-token"  # noqa: S105 (a salt, not a secret)


class LoginFailed(ApplicationError):
    code = "LOGIN_FAILED"
    message = "Wrong e-mail or password."
    status = 401


class AccountBanned(ApplicationError):
    code = "BANNED"
    message = "This account is banned."
    status = 403


# --- the login token --------------------------------------------------------------------------


def login_token_issue(*, user: User) -> str:
    """A signed token naming ``user`` and the current password hash (a password change voids
    it); valid for ``SMSBOX_LOGIN_TOKEN_SECONDS``."""
    return signing.dumps({"u": user.pk, "p": user.password[-12:]}, salt=_TOKEN_SALT, compress=True)


def login_token_user(token: str) -> User | None:
    """The active user a valid, unexpired token names, or None."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=settings.SMSBOX_LOGIN_TOKEN_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or user.password[-12:] != data.get("p"):
        return None
    return user


# Wrong passwords per e-mail address per window before further attempts are refused (429).
LOGIN_FAILURES_ALLOWED = 10
LOGIN_FAILURE_WINDOW = 60


def login_attempt_allowed(*, email: str) -> bool:
    return (cache.get(f"login-failures:{email}") or 0) < LOGIN_FAILURES_ALLOWED


def login_failure_record(*, email: str) -> None:
    key = f"login-failures:{email}"
    cache.add(key, 0, timeout=LOGIN_FAILURE_WINDOW)
    try:
        cache.incr(key)
    except ValueError:  # expired in between
        cache.set(key, 1, timeout=LOGIN_FAILURE_WINDOW)


class LoginTokenRequired(exceptions.NotAuthenticated):
    default_detail = "These endpoints take a login token (POST /api/v1/auth/token), not an API key."

    def __init__(self) -> None:
        super().__init__()
        self.smsbox_code = "LOGIN_TOKEN_REQUIRED"


class LoginTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <login token>``; an API key in any form is refused."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and ":" in token:
            user = login_token_user(token)
            if user is None:
                raise exceptions.AuthenticationFailed("The login token is invalid or expired.")
            return user, None
        if api_key_from_request(request) is not None:
            raise LoginTokenRequired()
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="login"'


class LoginTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.api.LoginTokenAuthentication"
    name = "loginToken"

    def get_security_definition(self, auto_schema: Any) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A login token from POST /api/v1/auth/token (not an API key).",
        }


# --- views ------------------------------------------------------------------------------------


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expiresIn = serializers.IntegerField(help_text="Seconds")


class ApiKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The first 8 characters of the key.")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The whole key: shown this once, stored nowhere.")


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


_KEY_EXAMPLE = {
    "id": 4,
    "name": "server-1",
    "prefix": "Ab3dEf9h",
    "createdAt": "2026-01-01T10:00:00Z",
    "lastUsedAt": None,
    "revokedAt": None,
}


class LoginTokenApi(GenericAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        tags=["api keys"],
        summary="Log in: a short-lived token for the API key endpoints",
        auth=[],
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            **error_responses(e400=[], e401=["LOGIN_FAILED"], e403=["BANNED"]),
        },
        examples=[
            OpenApiExample(
                "Login",
                value={"email": "demo@example.com", "password": "secret"},
                request_only=True,
            ),
            OpenApiExample(
                "Token",
                value={"token": "eyJ1Ijo…:1tQx…:Zp…", "expiresIn": 900},
                response_only=True,
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        email = body.validated_data["email"].lower()
        if not login_attempt_allowed(email=email):
            raise exceptions.Throttled(wait=LOGIN_FAILURE_WINDOW)
        user = authenticate(
            request._request, username=email, password=body.validated_data["password"]
        )
        if user is None:
            login_failure_record(email=email)
            raise LoginFailed()
        if user.is_banned():
            raise AccountBanned(extra={"banned_until": user.banned_until.isoformat()})
        token = login_token_issue(user=user)
        return Response({"token": token, "expiresIn": settings.SMSBOX_LOGIN_TOKEN_SECONDS})


@extend_schema_view(post=extend_schema(exclude=True))
class LoginTokenSlashApi(LoginTokenApi):
    """The same with a trailing slash (documented once, without it)."""


class _LoginTokenView(GenericAPIView):
    authentication_classes = [LoginTokenAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = None


class ApiKeyListApi(_LoginTokenView):
    serializer_class = ApiKeySerializer

    @extend_schema(
        tags=["api keys"],
        summary="My API keys (live ones)",
        responses={
            200: ApiKeySerializer(many=True),
            **error_responses(e401=["LOGIN_TOKEN_REQUIRED"]),
        },
        examples=[OpenApiExample("Keys", value=[_KEY_EXAMPLE], response_only=True)],
    )
    def get(self, request: Request) -> Response:
        keys = api_keys_for_user(user=request.user)
        return Response(ApiKeySerializer(keys, many=True).data)

    @extend_schema(
        tags=["api keys"],
        summary="Create an API key (the key is shown once)",
        request=ApiKeyCreateSerializer,
        responses={
            201: ApiKeyCreatedSerializer,
            **error_responses(e400=["INVALID_API_KEY_NAME"], e401=["LOGIN_TOKEN_REQUIRED"]),
        },
        examples=[
            OpenApiExample("Create", value={"name": "server-1"}, request_only=True),
            OpenApiExample(
                "Created",
                value={**_KEY_EXAMPLE, "key": "Ab3dEf9h" + "x" * 32},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        body = ApiKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        api_key, raw_key = api_key_create(user=request.user, name=body.validated_data["name"])
        api_key.key = raw_key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=201)


class ApiKeyDetailApi(_LoginTokenView):
    serializer_class = ApiKeySerializer

    @extend_schema(
        tags=["api keys"],
        summary="Revoke an API key",
        responses={
            200: ApiKeySerializer,
            **error_responses(e404=["API_KEY_NOT_FOUND"], e401=["LOGIN_TOKEN_REQUIRED"]),
        },
        examples=[
            OpenApiExample(
                "Revoked",
                value={**_KEY_EXAMPLE, "revokedAt": "2026-01-02T10:00:00Z"},
                response_only=True,
            )
        ],
    )
    def delete(self, request: Request, key_id: int) -> Response:
        api_key = api_key_get_for_user(user=request.user, key_id=key_id)
        api_key_revoke(api_key=api_key)
        return Response(ApiKeySerializer(api_key).data)


class ApiKeyRegenerateApi(_LoginTokenView):
    serializer_class = ApiKeyCreatedSerializer

    @extend_schema(
        tags=["api keys"],
        summary="Regenerate an API key: same name, new secret (shown once)",
        request=None,
        responses={
            200: ApiKeyCreatedSerializer,
            **error_responses(
                e404=["API_KEY_NOT_FOUND"], e409=["API_KEY_REVOKED"], e401=["LOGIN_TOKEN_REQUIRED"]
            ),
        },
        examples=[
            OpenApiExample(
                "Regenerated", value={**_KEY_EXAMPLE, "key": "Zz9" + "y" * 37}, response_only=True
            )
        ],
    )
    def post(self, request: Request, key_id: int) -> Response:
        api_key = api_key_get_for_user(user=request.user, key_id=key_id)
        api_key, raw_key = api_key_regenerate(api_key=api_key)
        api_key.key = raw_key
        return Response(ApiKeyCreatedSerializer(api_key).data)
