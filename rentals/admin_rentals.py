"""Admin of long-term rentals: plans (edited by operators), rentals with their SMS and renewal
history inline, and actions that call the rental services."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from rentals.models import Rental, RentalPlan, RentalRenewal, SmsMessage
from rentals.rental_selectors import rental_duration_of
from rentals.services.rentals import (
    rental_extend,
    rental_revoke,
    rental_set_auto_renew,
    rental_unused_share,
)
from smsbox.admin_audit import audited_action
from smsbox.errors import ApplicationError
from smsbox.money import format_money


@admin.register(RentalPlan)
class RentalPlanAdmin(admin.ModelAdmin):
    list_display = ["country", "service_label", "duration", "price", "active", "updated_at"]
    list_editable = ["price", "active"]
    list_filter = ["active", "unit", "package", "country"]
    list_select_related = ["country", "service"]
    search_fields = ["country__name_en", "country__iso", "service__code", "service__name"]
    autocomplete_fields = ["country", "service"]
    fields = ["country", "service", "unit", "length", "package", "price", "active"]

    @admin.display(description="service", ordering="service__name")
    def service_label(self, obj: RentalPlan) -> str:
        return str(obj.service) if obj.service else "any service"

    @admin.display(description="duration")
    def duration(self, obj: RentalPlan) -> str:
        return obj.duration_label


class SmsMessageInline(admin.TabularInline):
    model = SmsMessage
    fk_name = "rental"
    fields = ["received_at", "sender", "text", "text_truncated", "code", "upstream_message_id"]
    readonly_fields = fields
    ordering = ["received_at", "id"]
    extra = 0
    can_delete = False
    verbose_name_plural = "SMS messages (oldest first)"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RentalRenewalInline(admin.TabularInline):
    model = RentalRenewal
    fields = [
        "period",
        "kind",
        "state",
        "duration",
        "price",
        "old_expires_at",
        "new_expires_at",
        "actor",
        "error",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["period"]
    extra = 0
    can_delete = False
    verbose_name_plural = "renewal history"

    @admin.display(description="duration")
    def duration(self, obj: RentalRenewal) -> str:
        return obj.duration_label

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Rental)
class RentalAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "display_number",
        "user_email",
        "phone",
        "country",
        "service_label",
        "state",
        "auto_renew",
        "renewal",
        "expires_at",
        "provider",
    ]
    list_filter = ["state", "auto_renew", "provider", "country"]
    list_select_related = ["user", "country", "service", "provider"]
    search_fields = ["=id", "display_number", "phone", "user__email", "upstream_id"]
    date_hierarchy = "created_at"
    inlines = [RentalRenewalInline, SmsMessageInline]
    actions = ["extend_charged", "extend_free", "toggle_auto_renew", "revoke"]
    fields = [
        "user",
        "display_number",
        "state",
        "country",
        "service",
        "operator",
        "phone",
        "provider",
        "upstream_id",
        "duration",
        "renewal",
        "auto_renew",
        "price",
        "period",
        "created_at",
        "started_at",
        "expires_at",
        "first_sms_at",
        "settled_at",
        "renewal_notice_for",
        "unused_share",
        "webhook_url",
        "binding_key",
        "idempotency_key",
        "memo",
    ]
    readonly_fields = fields

    @admin.display(description="customer", ordering="user__email")
    def user_email(self, obj: Rental) -> str:
        return obj.user.email

    @admin.display(description="service", ordering="service__name")
    def service_label(self, obj: Rental) -> str:
        return str(obj.service) if obj.service else "any service"

    @admin.display(description="duration")
    def duration(self, obj: Rental) -> str:
        return obj.duration_label

    @admin.display(description="renews with")
    def renewal(self, obj: Rental) -> str:
        return obj.renewal_label

    @admin.display(description="unused share (refund on revoke)")
    def unused_share(self, obj: Rental) -> str:
        if obj.state != Rental.State.ACTIVE:
            return "-"
        return format_money(rental_unused_share(rental=obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    # --- actions: each calls one service per rental and reports what it did ---------------
    def _each(self, request: HttpRequest, queryset: QuerySet[Rental], verb: str, call) -> None:
        done, failed = 0, []
        action = "rental." + verb.split()[0].replace("-", "_")
        for rental in queryset.select_related("provider", "country", "service", "user"):
            try:
                audited_action(request, rental, action, lambda r=rental: call(r), done=verb)
                done += 1
            except ApplicationError as exc:
                failed.append(f"{rental.display_number}: {exc.message}")
        if done:
            self.message_user(request, f"{done} rentals {verb}.", messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)

    def _extend(self, rental: Rental, *, charge: bool, actor) -> None:
        duration = rental_duration_of(rental, renewal=True)
        rental_extend(
            rental=rental,
            hours=duration.hours,
            package=duration.package or None,
            charge=charge,
            actor=actor,
        )

    @admin.action(description="Extend by the renewal duration (charged)", permissions=["change"])
    def extend_charged(self, request: HttpRequest, queryset: QuerySet[Rental]) -> None:
        self._each(
            request,
            queryset,
            "extended (charged)",
            lambda r: self._extend(r, charge=True, actor=request.user),
        )

    @admin.action(description="Extend by the renewal duration (free)", permissions=["change"])
    def extend_free(self, request: HttpRequest, queryset: QuerySet[Rental]) -> None:
        self._each(
            request,
            queryset,
            "extended for free",
            lambda r: self._extend(r, charge=False, actor=request.user),
        )

    @admin.action(description="Toggle auto-renew", permissions=["change"])
    def toggle_auto_renew(self, request: HttpRequest, queryset: QuerySet[Rental]) -> None:
        self._each(
            request,
            queryset,
            "switched auto-renew",
            lambda r: rental_set_auto_renew(rental=r, enabled=not r.auto_renew),
        )

    @admin.action(description="Revoke (refund the unused share)", permissions=["refund"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Rental]) -> None:
        self._each(
            request, queryset, "revoked", lambda r: rental_revoke(rental=r, actor=request.user)
        )

    def has_refund_permission(self, request: HttpRequest) -> bool:
        """Support refunds orders (README "Operators")."""
        return request.user.has_perm("smsbox.refund_order")
