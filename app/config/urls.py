"""URL configuration: operations endpoints, admin, then the chat's pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("app.ops.urls")),
    path("admin/", admin.site.urls),
    path("", include("app.chat.urls")),
]
