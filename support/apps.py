from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declares the audience and the event types, connects the model signals and
        # subscribes the reactions.
        from . import audience, events, handlers, signals  # noqa: F401

    def seed_demo(self) -> list[str]:
        from .demo import seed_demo

        return seed_demo()
