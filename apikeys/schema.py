"""How the OpenAPI document describes API key authentication: any one of three ways."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = ["apiKeyHeader", "bearerAuth", "apiKeyQuery"]

    def get_security_definition(self, auto_schema: object) -> list[dict]:
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {"type": "http", "scheme": "bearer"},
            {"type": "apiKey", "in": "query", "name": "api_key"},
        ]

    def get_security_requirement(self, auto_schema: object) -> list[dict]:
        return [{name: []} for name in self.name]  # alternatives, not all at once
