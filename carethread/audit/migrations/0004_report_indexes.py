"""The audit report's indexes: one per filter in seq (= time) order, replacing the (column,
occurred_at) ones; ``seq``'s own unique index serves the unfiltered, newest-first page."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_keyed_chain"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="auditevent",
            name="audit_patient",
        ),
        migrations.RemoveIndex(
            model_name="auditevent",
            name="audit_actor",
        ),
        migrations.RemoveIndex(
            model_name="auditevent",
            name="audit_action",
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["patient_id", "seq"], name="audit_patient_seq"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["actor_id", "seq"], name="audit_actor_seq"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["action", "seq"], name="audit_action_seq"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["outcome", "seq"], name="audit_outcome_seq"),
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["source_address", "seq"], name="audit_address_seq"),
        ),
    ]
