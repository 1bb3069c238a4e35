from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "eventplatform.demo"
    label = "demo"
    verbose_name = "Demo data"
