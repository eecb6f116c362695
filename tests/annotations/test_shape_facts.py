"""Facts about the current shapes that queries filter on: coverage and refinement value rows."""

import importlib
import math

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import Exists, OuterRef

from annotations.models import Annotation, RefinementQuestion, ShapeRefinement
from annotations.services import annotation_revise, annotation_revision_restore
from labels_app.models import Label
from tests.factories import (
    ContributorFactory,
    LabelFactory,
    RefinementFactory,
    VoterFactory,
    submitted_annotation,
)
from tests.served import refinement_answer

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.5, "height": 0.4}
ELLIPSE = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.2, "ry": 0.1}
TRIANGLE = {"type": "polygon", "points": [[0.1, 0.1], [0.5, 0.1], [0.1, 0.5]]}
WHOLE_IMAGE = {"type": "rect", "x": 0.0, "y": 0.0, "width": 1.0, "height": 1.0}


@pytest.fixture
def colour():
    return RefinementFactory(name="colour", values=["red", "blue", "black"], applies_to=["*"])


def annotated(shapes):
    car = Label.objects.filter(name="car").first() or LabelFactory(name="car")
    annotation = submitted_annotation(shapes=shapes, label=car)
    annotation.refresh_from_db()
    return annotation


def rework(annotation, shapes):
    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=annotation.revision,
        shapes=shapes,
    )
    annotation.refresh_from_db()


def refinement_rows(annotation):
    return set(
        ShapeRefinement.objects.filter(annotation=annotation).values_list(
            "shape_index", "refinement__name", "value"
        )
    )


def painted(shape, value):
    return {**shape, "refinements": {"colour": value}}


def test_coverage_of_a_rect_is_its_width_times_height():
    assert annotated([RECT]).coverage == pytest.approx(0.5 * 0.4)


def test_coverage_of_an_ellipse_is_pi_times_its_radii():
    assert annotated([ELLIPSE]).coverage == pytest.approx(math.pi * 0.2 * 0.1)


def test_coverage_of_a_polygon_is_its_shoelace_area():
    assert annotated([TRIANGLE]).coverage == pytest.approx(0.4 * 0.4 / 2)


def test_coverage_adds_the_shapes_without_subtracting_overlaps():
    assert annotated([RECT, RECT, ELLIPSE]).coverage == pytest.approx(
        2 * 0.5 * 0.4 + math.pi * 0.2 * 0.1
    )


def test_coverage_is_capped_at_the_whole_image():
    assert annotated([WHOLE_IMAGE, RECT]).coverage == 1.0


def test_coverage_follows_a_rework():
    annotation = annotated([WHOLE_IMAGE])

    rework(annotation, [TRIANGLE])

    assert annotation.coverage == pytest.approx(0.08)


def test_author_refinements_are_stored_as_rows_on_submit(colour):
    annotation = annotated([painted(RECT, "red"), ELLIPSE, painted(TRIANGLE, "blue")])

    assert refinement_rows(annotation) == {(0, "colour", "red"), (2, "colour", "blue")}


def test_refinement_rows_answer_which_annotations_show_a_value(colour):
    red_car = annotated([ELLIPSE, painted(RECT, "red")])
    annotated([painted(RECT, "blue")])
    annotated([RECT])

    red = ShapeRefinement.objects.filter(annotation=OuterRef("pk"), refinement=colour, value="red")

    assert list(Annotation.objects.filter(Exists(red))) == [red_car]


def test_a_rework_that_drops_the_refinements_removes_their_rows(colour):
    annotation = annotated([painted(RECT, "red"), painted(ELLIPSE, "blue")])

    rework(annotation, [ELLIPSE])

    assert refinement_rows(annotation) == set()


def test_a_rework_that_renumbers_the_shapes_moves_their_rows(colour):
    annotation = annotated([RECT, painted(ELLIPSE, "blue")])

    rework(annotation, [painted(ELLIPSE, "black")])

    assert refinement_rows(annotation) == {(0, "colour", "black")}


def test_a_restore_brings_back_the_rows_of_the_restored_revision(colour):
    annotation = annotated([painted(RECT, "red")])
    rework(annotation, [TRIANGLE])

    restored = annotation_revision_restore(
        annotation=annotation, number=1, moderator=ContributorFactory()
    )

    restored.refresh_from_db()
    assert refinement_rows(restored) == {(0, "colour", "red")}
    assert restored.coverage == pytest.approx(0.5 * 0.4)


def test_a_decided_quiz_value_is_stored_as_a_row(colour):
    annotation = annotated([painted(RECT, "red"), ELLIPSE])
    question = RefinementQuestion.objects.get(annotation=annotation)

    for _ in range(2):
        refinement_answer(contributor=VoterFactory(), question_id=question.pk, value="blue")

    question.refresh_from_db()
    assert (question.shape_index, question.value) == (1, "blue")
    assert refinement_rows(annotation) == {(0, "colour", "red"), (1, "colour", "blue")}


def test_refinements_of_a_label_that_left_the_catalog_keep_their_rows(colour):
    annotation = annotated([painted(RECT, "red")])
    rework(annotation, [TRIANGLE])
    Label.objects.filter(pk=colour.pk).update(active=False)

    annotation_revision_restore(annotation=annotation, number=1, moderator=ContributorFactory())

    assert refinement_rows(annotation) == {(0, "colour", "red")}


def test_a_restored_refinement_whose_label_is_gone_is_skipped(colour):
    material = RefinementFactory(name="material", values=["metal", "wood"], applies_to=["*"])
    annotation = annotated([{**RECT, "refinements": {"colour": "red", "material": "wood"}}])
    rework(annotation, [TRIANGLE])
    RefinementQuestion.objects.filter(refinement=material).delete()
    material.delete()

    annotation_revision_restore(annotation=annotation, number=1, moderator=ContributorFactory())

    assert refinement_rows(annotation) == {(0, "colour", "red")}


def test_the_migration_fills_the_facts_of_existing_annotations_in_batches(colour, monkeypatch):
    fill = importlib.import_module("annotations.migrations.0005_shape_facts")
    monkeypatch.setattr(fill, "BATCH", 2)
    annotations = [
        annotated([painted(RECT, "red")]),
        annotated([ELLIPSE]),
        annotated([WHOLE_IMAGE, painted(TRIANGLE, "blue")]),
    ]
    Annotation.objects.update(coverage=0.0)
    ShapeRefinement.objects.all().delete()
    apps = MigrationLoader(connection).project_state(("annotations", "0005_shape_facts")).apps

    fill.shape_facts_fill(apps, None)

    for annotation in annotations:
        annotation.refresh_from_db()
    assert [annotation.coverage for annotation in annotations] == pytest.approx(
        [0.5 * 0.4, math.pi * 0.2 * 0.1, 1.0]
    )
    assert refinement_rows(annotations[0]) == {(0, "colour", "red")}
    assert refinement_rows(annotations[1]) == set()
    assert refinement_rows(annotations[2]) == {(1, "colour", "blue")}
