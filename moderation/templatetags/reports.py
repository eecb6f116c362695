"""Report links and the report dialog, for any page that shows an image (the pages' apps load
this library in their templates; their Python never imports moderation)."""

from django import template

from moderation.models import ReportReason

register = template.Library()


@register.inclusion_tag("moderation/_report_link.html")
def report_link(image_id="", source="", annotation_id=""):
    """A "Report" link for one image: `image_id` when the page knows it, or `source`, the id
    of the <img>/<image> element whose picture a task page swaps (the link reports whatever
    image it shows when clicked); with `annotation_id`, for that outline instead."""
    return {"image_id": image_id, "source": source, "annotation_id": annotation_id}


@register.inclusion_tag("moderation/_report_dialog.html", takes_context=True)
def report_dialog(context):
    return {"reasons": ReportReason.choices, "csrf_token": context.get("csrf_token")}
