"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Django application config for health and metrics."""

    name = "app.ops"
    label = "ops"
    verbose_name = "Operations"
