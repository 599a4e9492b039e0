from django.apps import AppConfig


class SmsboxConfig(AppConfig):
    name = "smsbox"
    verbose_name = "Accounts"
