"""Every API token expires: tokens created without an expiry get one, 90 days from now."""

import datetime as dt

from django.db import migrations
from django.utils import timezone

LIFETIME = dt.timedelta(days=90)


def give_an_expiry(apps, schema_editor):
    ApiToken = apps.get_model("api", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=timezone.now() + LIFETIME)


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    # Backwards: the tokens keep their expiry (the older schema accepts one).
    operations = [migrations.RunPython(give_an_expiry, migrations.RunPython.noop)]
