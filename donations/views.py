from dataclasses import dataclass

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.generic import DetailView, FormView, TemplateView, View

from contributors.identity import contributor_for_write
from core.errors import DomainError
from core.image_queries import image_query
from core.pagination import keyset_page
from core.ratelimits import rate_limit
from core.views import DomainErrorPageMixin

from .forms import DonationForm
from .ingest import upload_read
from .models import Image
from .services import image_donate

PAGE_SIZE = 48


@dataclass(frozen=True)
class FileResult:
    name: str
    image: Image | None = None
    error: str = ""
    notes: tuple[str, ...] = ()
    duplicate_of: Image | None = None


class DonateView(DomainErrorPageMixin, FormView):
    """Upload page; without JavaScript the form posts here, with it each file goes to the API."""

    template_name = "donations/donate.html"
    form_class = DonationForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            max_megabytes=settings.DONATION_MAX_BYTES // (1024 * 1024),
            max_megapixels=settings.DONATION_MAX_PIXELS // 1_000_000,
            **kwargs,
        )

    def form_valid(self, form):
        # Resolved at the first accepted file: refused uploads create no contributor.
        donor = lambda: contributor_for_write(self.request)  # noqa: E731
        labels = form.cleaned_data["labels"]
        results = [self._donate_one(donor, upload, labels) for upload in form.cleaned_data["files"]]
        return self.render_to_response(
            self.get_context_data(form=self.form_class(), results=results)
        )

    def _donate_one(self, donor, upload, labels) -> FileResult:
        try:
            rate_limit(self.request, "donation")
            data = upload_read(upload, max_bytes=settings.DONATION_MAX_BYTES)
            donation = image_donate(donor=donor, data=data, cc0_confirmed=True, labels=labels)
        except DomainError as error:
            duplicate = None
            if error.code == "duplicate":
                visible = Image.objects.visible_to_request(self.request)
                duplicate = visible.filter(pk=error.extra["image_id"]).first()
            return FileResult(name=upload.name, error=error.message, duplicate_of=duplicate)
        return FileResult(name=upload.name, image=donation.image, notes=donation.notes)


class GalleryView(TemplateView):
    template_name = "donations/gallery.html"

    def get_queryset(self):
        return Image.objects.public()

    def get_context_data(self, **kwargs):
        images = self.get_queryset()
        query, query_error = self.request.GET.get("q", "").strip(), ""
        if query:
            try:
                images = images.filter(image_query(query, include_open=True))
            except DomainError as error:
                images, query_error = images.none(), error.message
        page = keyset_page(
            images,
            before=self.request.GET.get("before"),
            after=self.request.GET.get("after"),
            size=PAGE_SIZE,
        )
        return super().get_context_data(page=page, q=query, query_error=query_error, **kwargs)


class MyDonationsView(GalleryView):
    template_name = "donations/my_donations.html"

    def get_queryset(self):
        return Image.objects.donated_by(self.request.contributor)


class ImageDetailView(DetailView):
    template_name = "donations/image_detail.html"
    context_object_name = "image"

    def get_queryset(self):
        return Image.objects.visible_to_request(self.request).select_related("donor__user")

    def get_context_data(self, **kwargs):
        image = self.object
        image_labels = list(
            image.image_labels.standing()
            .select_related("label", "annotation")
            .prefetch_related("annotation__revisions")
            .order_by("label__name")
        )
        for image_label in image_labels:
            # An outline hidden after reports is not shown until a moderator decides.
            annotation = getattr(image_label, "annotation", None)
            image_label.outline = None if annotation is None or annotation.hidden else annotation
        return super().get_context_data(
            is_donor=self.request.contributor is not None
            and image.donor_id == self.request.contributor.pk,
            image_labels=image_labels,
            **kwargs,
        )


class ImageFileView(View):
    """Streams a stored file after the same visibility check as the image page.

    Media is never linked directly, so a pending image's file is as private as its page.
    """

    def get(self, request, pk, variant):
        image = get_object_or_404(Image.objects.visible_to_request(request), pk=pk)
        if variant == "full":
            stored, content_type = image.file, image.media_type
        elif variant in ("large", "small"):
            stored = image.thumbnail_large if variant == "large" else image.thumbnail_small
            content_type = "image/webp"
        else:
            raise Http404("No such image variant.")
        if not stored.name:
            raise Http404("This image was removed and its files deleted.")
        download = request.GET.get("download") == "1" and variant == "full"
        response = FileResponse(
            stored.open("rb"),
            content_type=content_type,
            as_attachment=download,
            filename=f"imagemonkey-{image.pk}.{stored.name.rsplit('.', 1)[-1]}",
        )
        response["Cache-Control"] = (
            "public, max-age=86400" if image.is_public else "private, no-store"
        )
        return response
