"""The purge log in the admin: read-only, written by the system."""

from django.contrib import admin

from alphanode.pagecache.models import PurgeLog


@admin.register(PurgeLog)
class PurgeLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "reason", "pages", "succeeded", "attempts", "edges_pending", "user"]
    list_filter = ["succeeded"]
    search_fields = ["reason", "tags", "edges_pending"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
