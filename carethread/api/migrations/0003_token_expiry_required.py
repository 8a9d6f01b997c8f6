from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0002_tokens_expire")]

    operations = [
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
    ]
