"""URL configuration: operations endpoints, admin (when enabled), then the chat's pages."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from app.config import wiring

urlpatterns = [
    path("", include("app.ops.urls")),
    # Off unless ADMIN_ENABLED: the Ingress's `/` rule would make it public.
    *([path("admin/", admin.site.urls)] if settings.ADMIN_ENABLED else []),
    path("", include((wiring.chat_urls(), "chat"))),
]
