from django.apps import AppConfig


class SmsboxConfig(AppConfig):
    name = "smsbox"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from smsbox.auth_backends import on_user_written
        from smsbox.models import User

        user_logged_in.connect(_record_login, dispatch_uid="smsbox.record_login_activity")
        # Every write of a user drops the copy of their row that requests read (auth_backends).
        post_save.connect(on_user_written, sender=User, dispatch_uid="smsbox.user_copy_s")
        post_delete.connect(on_user_written, sender=User, dispatch_uid="smsbox.user_copy_d")


def _record_login(sender: object, request: object, user: object, **kwargs: object) -> None:
    from smsbox.services import user_record_activity

    user_record_activity(user=user)
