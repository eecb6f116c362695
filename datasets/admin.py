from django.contrib import admin

from .models import DatasetRelease, ExportJob


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


@admin.register(DatasetRelease)
class DatasetReleaseAdmin(admin.ModelAdmin):
    """Public releases in media storage (made by `manage.py dataset_dump --release` or the
    periodic task); read-only, the files are what the releases page lists."""

    list_display = ["name", "since", "created_at", "byte_size"]
    search_fields = ["name"]
    readonly_fields = [field.name for field in DatasetRelease._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
