from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declare the audience, connect the model signals and subscribe the reactions.
        from . import audience, handlers, signals  # noqa: F401

    def seed_demo(self) -> list[str]:
        from .demo import seed_demo

        return seed_demo()
