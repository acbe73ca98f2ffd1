"""Import runs in the admin: read-only, written by import_posts."""

from django.contrib import admin

from alphanode.ops.models import ImportRun


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "status", "created", "updated", "unchanged", "held", "rejected", "seconds", "dry_run"]
    list_filter = ["status", "dry_run"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
