from django.conf import settings
from django.db import models


class Favourite(models.Model):
    """A service and country a customer buys often, offered first on the Buy page."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    service = models.ForeignKey("providers.Service", on_delete=models.CASCADE, related_name="+")
    country = models.ForeignKey("providers.Country", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "service", "country"], name="favourite_unique_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.code}/{self.country.iso} of {self.user}"
