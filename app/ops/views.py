"""Liveness, readiness and metrics endpoints (no sessions, no CSRF, no templates)."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

import app.ops.metrics  # noqa: F401  (registers Parley's metrics)
from app.ops.checks import check_backlog, check_database, check_redis
from app.ops.lifecycle import is_full, is_stopping


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Nothing external is checked."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when Postgres and Redis answer and workers keep up, else 503 naming why.

    A process that is stopping (SIGTERM) answers 503 ``stopping`` at once, and
    one holding all the sockets it may 503 ``full``: load balancers send new
    sockets elsewhere.
    """
    if is_stopping() or is_full():
        status = "stopping" if is_stopping() else "full"
        return JsonResponse({"status": status, "checks": {}}, status=503)
    checks = {"database": check_database(), "redis": check_redis(), "backlog": check_backlog()}
    ready = all(result in ("ok", "not configured") for result in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of this process's metrics; 404 where METRICS_PORT serves them."""
    if settings.METRICS_PORT:
        raise Http404("Metrics are served on METRICS_PORT.")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
