"""URL configuration: operations endpoints, admin, then the chat's pages."""

from django.contrib import admin
from django.urls import include, path

from app.config import wiring

urlpatterns = [
    path("", include("app.ops.urls")),
    path("admin/", admin.site.urls),
    path("", include((wiring.chat_urls(), "chat"))),
]
