from django.contrib import admin

from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Archive exports, for seeing what is being built and what failed; read-only (jobs are
    made by their owners and removed by exports_clean_up)."""

    list_display = ["pk", "state", "format", "rows_done", "rows_total", "byte_size", "created_at"]
    list_filter = ["state"]
    search_fields = ["pk", "fingerprint"]
    readonly_fields = [field.name for field in ExportJob._meta.fields]

    @admin.display(description="format")
    def format(self, job: ExportJob) -> str:
        return job.params.get("format", "")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
