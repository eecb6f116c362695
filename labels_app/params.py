"""The `?label=` parameter of the task pages and APIs: one label of the catalog, by name."""

from drf_spectacular.utils import OpenApiParameter

from core.errors import DomainError
from labels_app.models import Label

LABEL_PARAMETER = OpenApiParameter("label", str, description="Only tasks about this label")


def label_from_query(request, *, required: bool = False) -> Label | None:
    name = request.query_params.get("label", "").strip()
    if not name:
        if required:
            raise DomainError("Choose a label with ?label=<name>.", code="label_required")
        return None
    label = Label.objects.active().filter(name=name[:64].lower()).first()
    if label is None:
        raise DomainError(f"There is no label named {name[:64]!r}.", code="unknown_label")
    return label


def label_asked(request) -> str:
    """The label name a page was asked for (?label=, or a form's label field), as typed."""
    return (request.GET.get("label") or request.POST.get("label") or "").strip()[:64]


def label_param(request) -> Label | None:
    """The label a page was asked for, or None when none or an unknown one was asked for (the
    page says which)."""
    name = label_asked(request)
    return Label.objects.active().filter(name=name.lower()).first() if name else None
