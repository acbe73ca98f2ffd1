from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Health, metrics, monitoring, request logs, the CSP header, releases and deployments."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "alphanode.ops"
    label = "ops"
    verbose_name = "operations"
