from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connect the model signals and subscribe the reactions.
        from . import handlers, signals  # noqa: F401
