from django.apps import AppConfig


class SmsboxConfig(AppConfig):
    name = "smsbox"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_record_login, dispatch_uid="smsbox.record_login_activity")


def _record_login(sender: object, request: object, user: object, **kwargs: object) -> None:
    from smsbox.services import user_record_activity

    user_record_activity(user=user)
