"""Key the chain: ``key_id`` on each entry (empty: a legacy unkeyed entry), and a first keyed
entry sealing an existing legacy trail (``carethread.audit.legacy``).

The append-only triggers are lifted around the column change and put back: SQLite adds a column
with a default by rebuilding the table, which drops the table's triggers.
"""

from django.db import migrations, models

from carethread.audit import triggers


def install_triggers(apps, schema_editor):
    triggers.install(schema_editor.connection)


def remove_triggers(apps, schema_editor):
    triggers.remove(schema_editor.connection)


def seal_legacy(apps, schema_editor):
    from carethread.audit.legacy import seal_legacy

    seal_legacy(
        apps.get_model("audit", "AuditEvent"),
        apps.get_model("audit", "AuditChainHead"),
        schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.RunPython(remove_triggers, install_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(
                blank=True,
                default="",
                help_text=(
                    "Key-file key the hash is an HMAC under; empty: a legacy unkeyed SHA-256 entry"
                ),
                max_length=32,
            ),
        ),
        migrations.RunPython(install_triggers, remove_triggers),
        migrations.RunPython(seal_legacy, migrations.RunPython.noop),
    ]
