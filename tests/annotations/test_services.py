import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Annotation, AnnotationTaskMark, Lease
from annotations.services import (
    annotation_lease_renew,
    annotation_revise,
    annotation_revision_restore,
    annotation_submit,
    annotation_task_lease,
    annotation_task_lease_for,
    annotation_task_release,
)
from core.errors import DomainError
from labels_app.models import ImageLabelState
from tests.factories import (
    AnnotationTaskFactory,
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    VoterFactory,
    submitted_annotation,
)
from tests.served import vote_cast
from validations.models import Vote

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.5, "height": 0.5}


def test_a_task_is_leased_to_one_contributor_at_a_time():
    task = AnnotationTaskFactory()
    first, second = ContributorFactory(), ContributorFactory()

    lease = annotation_task_lease(contributor=first)

    assert lease.image_label == task
    assert annotation_task_lease(contributor=second) is None
    assert annotation_task_lease(contributor=first) == lease  # handed back, not a second one


def test_an_expired_lease_returns_the_task_to_the_pool():
    task = AnnotationTaskFactory()
    lease = annotation_task_lease(contributor=ContributorFactory())
    Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    other = annotation_task_lease(contributor=ContributorFactory())

    assert other.image_label == task
    assert Lease.objects.count() == 1


def test_only_confirmed_objects_on_public_images_without_annotation_are_tasks():
    AnnotationTaskFactory(needs_annotation=False)
    AnnotationTaskFactory(image=ImageFactory(), needs_annotation=True)  # pending image
    open_item = ImageLabelFactory()

    assert annotation_task_lease(contributor=ContributorFactory()) is None
    assert open_item.needs_annotation is False


def test_confirmation_by_votes_puts_an_object_into_the_annotation_queue():
    item = ImageLabelFactory()
    for _ in range(3):
        vote_cast(
            contributor=VoterFactory(gold_answered=10, gold_correct=9),
            image_label_id=item.pk,
            answer="yes",
        )

    item.refresh_from_db()
    assert item.state == ImageLabelState.CONFIRMED
    assert item.needs_annotation is True


def test_scenes_are_confirmed_but_not_annotated():
    item = ImageLabelFactory(label=LabelFactory(name="beach", kind="scene"))
    for _ in range(3):
        vote_cast(
            contributor=VoterFactory(gold_answered=10, gold_correct=9),
            image_label_id=item.pk,
            answer="yes",
        )

    item.refresh_from_db()
    assert (item.state, item.needs_annotation) == (ImageLabelState.CONFIRMED, False)


def test_submitting_stores_revision_one_and_ends_the_task():
    task = AnnotationTaskFactory()
    contributor = ContributorFactory()
    lease = annotation_task_lease(contributor=contributor)

    annotation = annotation_submit(contributor=contributor, lease_id=lease.pk, shapes=[RECT])

    task.refresh_from_db()
    assert annotation.revision == 1
    assert annotation.shapes == [RECT]
    assert list(annotation.revisions.values_list("number", flat=True)) == [1]
    assert task.needs_annotation is False
    assert Lease.objects.count() == 0
    assert annotation_task_lease(contributor=ContributorFactory()) is None


@pytest.mark.parametrize(
    ("make_lease_id", "status", "code"),
    [
        (lambda lease, mine: "8c6b6a4e-9d3f-4f53-9f68-2a1c5b1d0e7f", 404, "no_lease"),
        (lambda lease, mine: "not-a-uuid", 404, "no_lease"),
        (lambda lease, mine: lease.pk, 409, "lease_not_yours"),
    ],
)
def test_submitting_without_a_valid_lease_of_ones_own_is_refused(make_lease_id, status, code):
    AnnotationTaskFactory()
    lease = annotation_task_lease(contributor=ContributorFactory())

    with pytest.raises(DomainError) as caught:
        annotation_submit(
            contributor=ContributorFactory(), lease_id=make_lease_id(lease, False), shapes=[RECT]
        )

    assert (caught.value.status, caught.value.code) == (status, code)
    assert Annotation.objects.count() == 0


def test_submitting_on_an_expired_lease_is_refused():
    AnnotationTaskFactory()
    contributor = ContributorFactory()
    lease = annotation_task_lease(contributor=contributor)
    Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(DomainError) as caught:
        annotation_submit(contributor=contributor, lease_id=lease.pk, shapes=[RECT])

    assert caught.value.code == "lease_expired"
    assert caught.value.message == "Your lease on this task expired; take a new task."
    assert Annotation.objects.count() == 0


def test_invalid_shapes_store_nothing_and_keep_the_lease():
    AnnotationTaskFactory()
    contributor = ContributorFactory()
    lease = annotation_task_lease(contributor=contributor)

    with pytest.raises(DomainError):
        annotation_submit(
            contributor=contributor, lease_id=lease.pk, shapes=[{**RECT, "x": float("nan")}]
        )

    assert Annotation.objects.count() == 0
    assert Lease.objects.filter(pk=lease.pk).exists()


def test_renewing_extends_the_lease():
    AnnotationTaskFactory()
    contributor = ContributorFactory()
    lease = annotation_task_lease(contributor=contributor)
    Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now() + timedelta(seconds=5))

    renewed = annotation_lease_renew(contributor=contributor, lease_id=lease.pk)

    assert renewed.expires_at > timezone.now() + timedelta(seconds=200)


def annotated(contributor=None):
    return submitted_annotation(shapes=[RECT], author=contributor)


def test_rework_saves_a_new_revision_and_keeps_the_old_one():
    annotation = annotated()
    ellipse = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.2, "ry": 0.1}

    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[ellipse],
    )

    annotation.refresh_from_db()
    assert annotation.revision == 2
    assert annotation.shapes == [ellipse]
    assert annotation.revisions.get(number=1).shapes == [RECT]


def test_two_saves_on_the_same_base_revision_conflict_and_nothing_is_lost():
    annotation = annotated()
    first = [{**RECT, "width": 0.2}]
    second = [{**RECT, "height": 0.2}]
    annotation_revise(
        contributor=ContributorFactory(), annotation_id=annotation.pk, base_revision=1, shapes=first
    )

    with pytest.raises(DomainError) as caught:
        annotation_revise(
            contributor=ContributorFactory(),
            annotation_id=annotation.pk,
            base_revision=1,
            shapes=second,
        )

    annotation.refresh_from_db()
    assert (caught.value.status, caught.value.code) == (409, "revision_conflict")
    assert caught.value.extra == {"current_revision": 2}
    assert annotation.shapes == first
    assert annotation.revisions.count() == 2


def test_a_moderator_restores_an_old_revision_as_a_new_one():
    annotation = annotated()
    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[{**RECT, "width": 0.1}],
    )

    restored = annotation_revision_restore(
        annotation=annotation, number=1, moderator=ContributorFactory()
    )

    assert restored.revision == 3
    assert restored.shapes == [RECT]
    assert restored.revisions.get(number=3).restored_from == 1


def test_passing_returns_the_task_to_the_pool_but_not_to_this_contributor():
    AnnotationTaskFactory()
    contributor = ContributorFactory()
    lease = annotation_task_lease(contributor=contributor)

    annotation_task_release(contributor=contributor, lease_id=lease.pk, kind="passed")

    assert annotation_task_lease(contributor=contributor, rng=random.Random(1)) is None
    assert annotation_task_lease(contributor=ContributorFactory()) is not None


def test_nothing_to_annotate_counts_as_evidence_against_the_label():
    task = AnnotationTaskFactory(evidence=4.7)
    voter = VoterFactory(gold_answered=10, gold_correct=9)
    lease = annotation_task_lease(contributor=voter)

    annotation_task_release(contributor=voter, lease_id=lease.pk, kind="nothing_here")

    task.refresh_from_db()
    assert Vote.objects.get(contributor=voter, image_label=task).answer == "no"
    assert task.evidence < 4.7
    assert task.state == ImageLabelState.OPEN  # back to validation
    assert task.needs_annotation is False
    assert AnnotationTaskMark.objects.get().kind == "nothing_here"


def test_not_annotatable_marks_retire_a_task_after_three(settings):
    settings.ANNOTATION_RETIRE_AFTER = 3
    task = AnnotationTaskFactory()

    for _ in range(3):
        contributor = ContributorFactory()
        lease = annotation_task_lease(contributor=contributor)
        annotation_task_release(contributor=contributor, lease_id=lease.pk, kind="not_annotatable")

    task.refresh_from_db()
    assert task.not_annotatable_marks == 3
    assert task.needs_annotation is False


def test_one_contributor_marks_a_task_not_annotatable_once_however_often_they_lease_it(settings):
    settings.ANNOTATION_RETIRE_AFTER = 3
    task = AnnotationTaskFactory()
    contributor = ContributorFactory()

    for _ in range(3):
        lease = annotation_task_lease_for(
            contributor=contributor, image=task.image, label_name=task.label.name
        )
        annotation_task_release(contributor=contributor, lease_id=lease.pk, kind="not_annotatable")

    task.refresh_from_db()
    assert task.not_annotatable_marks == 1
    assert task.needs_annotation is True


def test_browse_mode_leases_a_chosen_image_and_label():
    task = AnnotationTaskFactory(label=LabelFactory(name="dog"))

    lease = annotation_task_lease_for(
        contributor=ContributorFactory(), image=task.image, label_name="Dog"
    )

    assert lease.image_label == task


@pytest.mark.parametrize(
    ("make_image", "label", "code"),
    [
        (lambda task: task.image, "cat", "label_not_on_image"),
        (lambda task: ImageFactory(), "dog", "image_not_public"),
    ],
)
def test_browse_mode_refuses_what_cannot_be_annotated(make_image, label, code):
    task = AnnotationTaskFactory(label=LabelFactory(name="dog"))

    with pytest.raises(DomainError) as caught:
        annotation_task_lease_for(
            contributor=ContributorFactory(), image=make_image(task), label_name=label
        )

    assert caught.value.code == code
    assert Lease.objects.count() == 0


def test_browse_mode_refuses_a_task_someone_else_holds():
    task = AnnotationTaskFactory(label=LabelFactory(name="dog"))
    annotation_task_lease_for(contributor=ContributorFactory(), image=task.image, label_name="dog")

    with pytest.raises(DomainError) as caught:
        annotation_task_lease_for(
            contributor=ContributorFactory(), image=task.image, label_name="dog"
        )

    assert (caught.value.status, caught.value.code) == (409, "leased")


def test_moderator_restores_a_revision_from_the_admin(client):
    from tests.factories import ModeratorFactory

    annotation = annotated()
    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[{**RECT, "width": 0.1}],
    )
    moderator = ModeratorFactory(is_superuser=True)
    client.force_login(moderator)
    url = f"/admin/annotations/annotation/{annotation.pk}/restore/1/"

    confirm = client.get(url)
    response = client.post(url)

    annotation.refresh_from_db()
    assert "Restore revision 1" in confirm.content.decode()
    assert response.status_code == 302
    assert (annotation.revision, annotation.shapes) == (3, [RECT])
    assert client.get(f"/admin/annotations/annotation/{annotation.pk}/change/").status_code == 200


def test_browse_mode_refuses_labels_that_need_no_outline():
    open_label = ImageLabelFactory(label=LabelFactory(name="dog"))

    with pytest.raises(DomainError) as caught:
        annotation_task_lease_for(
            contributor=ContributorFactory(), image=open_label.image, label_name="dog"
        )

    assert (caught.value.status, caught.value.code) == (409, "not_an_annotation_task")


def test_taking_a_new_task_gives_back_the_previous_lease():
    dog, cat = LabelFactory(name="dog"), LabelFactory(name="cat")
    AnnotationTaskFactory(label=dog)
    AnnotationTaskFactory(label=cat)
    contributor = ContributorFactory()
    annotation_task_lease(contributor=contributor, label=dog)

    second = annotation_task_lease(contributor=contributor, label=cat)

    assert list(Lease.objects.values_list("pk", flat=True)) == [second.pk]
