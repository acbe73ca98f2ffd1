"""Admin registrations for operational records: import runs and page-cache purges."""

from django.contrib import admin

from posts.models import ImportRun, PurgeLog


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the system: visible to staff, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PurgeLog)
class PurgeLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reason", "pages", "succeeded", "attempts", "user"]
    list_filter = ["succeeded"]
    search_fields = ["reason", "tags"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "status", "created", "updated", "unchanged", "held", "rejected", "seconds", "dry_run"]
    list_filter = ["status", "dry_run"]
    show_full_result_count = False
