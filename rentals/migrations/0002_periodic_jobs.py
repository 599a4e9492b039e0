"""Beat runs the webhook retry sweep every minute (admin: Periodic tasks, keyed by task name)."""

from django.db import migrations
from django.utils import timezone

TASK = "rentals.tasks.webhooks_retry_due"


def schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = interval_model.objects.get_or_create(every=1, period="minutes")
    task_model.objects.update_or_create(
        name=TASK,
        defaults={
            "task": TASK,
            "interval": every_minute,
            "description": "Retry the customer webhook deliveries that are due.",
        },
    )
    _mark_changed(apps)


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK).delete()
    _mark_changed(apps)


def _mark_changed(apps):
    # Historical models send no signals: tell a running beat that the schedule changed.
    tracker = apps.get_model("django_celery_beat", "PeriodicTasks")
    tracker.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
