"""allauth.mfa's secrets (TOTP keys, recovery-code seeds) stored before are sealed under the
crypto envelope (``carethread.crypto.mfa``). Reversible: migrating back stores them in plain
text again, as allauth's default adapter expects."""

from django.db import migrations


def seal(apps, schema_editor):
    from carethread.crypto import mfa

    mfa.seal_all(apps.get_model("mfa", "Authenticator").objects)


def unseal(apps, schema_editor):
    from carethread.crypto import mfa

    mfa.unseal_all(apps.get_model("mfa", "Authenticator").objects)


class Migration(migrations.Migration):
    dependencies = [
        ("crypto", "0001_initial"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(seal, unseal)]
