"""Starting an archive export from a request: what the export page and the API share."""

from contributors.identity import contributor_for_write
from core.ratelimits import rate_limit

from .models import ExportJob
from .services import export_cost, export_job_start, export_request_from, export_select


def export_job_requested(request, parameters: dict[str, str]) -> ExportJob:
    """Check the parameters, count the archive's cost against the requester's limit and start
    (or hand back) the job; raises DomainError naming what is wrong."""
    export = export_request_from(parameters)
    selection = export_select(export)
    contributor = contributor_for_write(request)
    rate_limit(request, "export_archive", cost=export_cost(selection))
    return export_job_start(
        contributor=contributor,
        request=export,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
