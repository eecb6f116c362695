"""Live progress of archive exports, pushed to the export page over websockets."""

from core.live import group_send

from .models import ExportJob, ExportJobState


def progress_group(job_id) -> str:
    return f"export-{job_id}"


def job_progress(job: ExportJob) -> dict:
    """What the page and the API show of a job; a fresh download link once it is done."""
    from .services import export_link

    return {
        "id": str(job.pk),
        "state": job.state,
        "format": job.params.get("format"),
        "query": job.params.get("query", ""),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "eta_seconds": job.eta_seconds,
        "byte_size": job.byte_size,
        "error": job.error,
        "download_url": export_link(job) if job.state == ExportJobState.DONE else None,
        "created_at": job.created_at.isoformat(),
    }


def progress_send(job_id) -> None:
    """Tell whoever watches this job how far it is."""
    job = ExportJob.objects.get(pk=job_id)
    group_send(progress_group(job_id), {"type": "export.progress", "job": job_progress(job)})
