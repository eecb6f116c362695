from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from contributors.models import Contributor, TrustLevel
from contributors.services import api_token_create
from donations.ingest import image_process
from donations.models import Image, ImageStatus
from donations.services import image_files_store
from labels_app.models import (
    Answer,
    GoldPool,
    ImageLabel,
    ImageLabelState,
    Label,
    LabelKind,
    LabelTerm,
    TermKind,
)
from labels_app.terms import term_normalise

from . import image_files


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class ModeratorFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def review_permission(self, create, extracted, **kwargs):
        if create:
            self.user_permissions.add(
                Permission.objects.get(
                    codename="review_image", content_type__app_label="donations"
                ),
                Permission.objects.get(codename="view_image", content_type__app_label="donations"),
            )

    @factory.post_generation
    def moderation(self, create, extracted, **kwargs):
        """ModeratorFactory(moderation=["add_ban", ...]): also these moderation permissions."""
        if create and extracted:
            self.user_permissions.add(
                *Permission.objects.filter(
                    content_type__app_label="moderation", codename__in=extracted
                )
            )


class ContributorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contributor


class RegisteredContributorFactory(ContributorFactory):
    user = factory.SubFactory(UserFactory)


class ImageFactory(factory.django.DjangoModelFactory):
    """An Image made through the real ingest pipeline from a generated photo."""

    class Meta:
        model = Image

    seed = factory.Sequence(lambda n: 1000 + n)  # which generated photo; not a model field
    donor = factory.SubFactory(ContributorFactory)
    cc0_confirmed = True
    status = ImageStatus.PENDING

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        seed = kwargs.pop("seed")
        processed = image_process(
            data=image_files.jpeg(160, 120, seed),
            max_bytes=10**8,
            max_pixels=10**8,
            jpeg_quality=85,
            thumbnail_sizes=(64, 128),
        )
        image = model_class(**processed.image_fields(), **kwargs)
        for field_name, name in image_files_store(image_id=image.pk, processed=processed).items():
            setattr(image, field_name, name)
        image.save()
        return image


def api_token_for(user) -> str:
    _, key = api_token_create(user=user, name="test token")
    return key


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"thing {n}")
    plural = factory.LazyAttribute(lambda label: f"{label.name}s")
    description = factory.LazyAttribute(lambda label: f"A {label.name}.")
    kind = LabelKind.OBJECT
    group = "tests"

    @factory.post_generation
    def terms(self, create, extracted, **kwargs):
        if create:
            for kind, word in ((TermKind.NAME, self.name), (TermKind.PLURAL, self.plural)):
                LabelTerm.objects.get_or_create(
                    term=term_normalise(word),
                    defaults={"label": self, "display": word, "kind": kind},
                )


class RefinementFactory(LabelFactory):
    """A refinement kind the quiz asks about every object (applies_to "*")."""

    name = factory.Sequence(lambda n: f"refinement {n}")
    kind = LabelKind.REFINEMENT
    values = factory.LazyFunction(lambda: ["red", "blue", "green"])
    question = "Which refinement does this {label} have?"
    applies_to = factory.LazyFunction(lambda: ["*"])


class ImageLabelFactory(factory.django.DjangoModelFactory):
    """An open image-label on an unlocked image, in the validation queue."""

    class Meta:
        model = ImageLabel

    image = factory.SubFactory(ImageFactory, status=ImageStatus.UNLOCKED)
    label = factory.SubFactory(LabelFactory)
    added_by = factory.SubFactory(ContributorFactory)
    in_queue = factory.LazyAttribute(lambda il: il.image.status == ImageStatus.UNLOCKED)
    sort_key = factory.LazyAttribute(lambda il: il.random_key)
    random_key = factory.Sequence(lambda n: (n * 0.618) % 1)


class GoldImageLabelFactory(ImageLabelFactory):
    """A training item: an ordinary open question whose answer is known (privately)."""

    gold_answer = Answer.YES
    gold_pool = GoldPool.TRAINING


class VoterFactory(ContributorFactory):
    """A contributor who passed training with a good gold record."""

    gold_answered = 10
    gold_correct = 10
    # A member of some standing: weeks old, agreeing with the crowd so far.
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=60))
    agreement_judged = 10
    agreement_agreed = 10
    votes_counted = True
    trust_level = TrustLevel.CONTRIBUTOR
    training_passed_at = factory.LazyFunction(timezone.now)


class AnnotationTaskFactory(ImageLabelFactory):
    """A confirmed object label waiting for an outline."""

    state = ImageLabelState.CONFIRMED
    in_queue = False
    needs_annotation = True
    probability = 0.995


def submitted_annotation(*, shapes: list[dict], author=None, label=None):
    """An annotation saved as revision 1 through the real task flow (lease, then submit), on a
    new task for `label` (a new label when not given)."""
    from annotations.services import annotation_submit, annotation_task_lease_for

    author = author or ContributorFactory()
    task = AnnotationTaskFactory(**({"label": label} if label is not None else {}))
    lease = annotation_task_lease_for(
        contributor=author, image=task.image, label_name=task.label.name
    )
    return annotation_submit(contributor=author, lease_id=lease.pk, shapes=shapes)
