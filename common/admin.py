"""The admin index shows the platform's status (feed freshness, processes, dependencies) above the apps."""

from django.contrib import admin

admin.site.index_template = "admin/platform_index.html"
