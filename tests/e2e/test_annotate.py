"""The annotation editor in a real browser: drawing every shape type with the mouse, editing and
undoing, submitting, passing, "nothing here", shortcuts, refinements, touch on a phone, reworking
an annotation from the review page, and adding labels or taking another object without leaving."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotations.models import (
    Annotation,
    AnnotationRevision,
    AnnotationTaskMark,
    Lease,
    TaskMarkKind,
)
from annotations.services import annotation_revise
from labels_app.models import Answer, ImageLabel, ImageLabelState
from tests.factories import (
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
)
from validations.models import Vote

pytestmark = pytest.mark.django_db(transaction=True)


def annotation_task(**kwargs) -> ImageLabel:
    """A confirmed object on a public image that nobody has outlined yet."""
    return ImageLabelFactory(
        state=ImageLabelState.CONFIRMED, in_queue=False, needs_annotation=True, **kwargs
    )


def annotated(task: ImageLabel, shapes: list[dict]) -> Annotation:
    """Someone else's outline of the task, as revision 1, waiting for review."""
    author = ContributorFactory()
    annotation = Annotation.objects.create(image_label=task, shapes=shapes, author=author)
    AnnotationRevision.objects.create(annotation=annotation, number=1, shapes=shapes, author=author)
    ImageLabel.objects.filter(pk=task.pk).update(needs_annotation=False)
    return annotation


FIRST_RECT = {"type": "rect", "x": 0.2, "y": 0.2, "width": 0.3, "height": 0.3}


def console_errors(page) -> list[str]:
    """Collects console errors and uncaught exceptions (CSP refusals are console errors)."""
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def open_editor(page, path: str = "/annotate/") -> ImageLabel:
    page.goto(path)
    expect(page.locator("#annotate-editor")).to_be_visible()
    expect(page.locator("#annotate")).to_have_attribute("data-image-label", re.compile(r"^\d+$"))
    return task_on_screen(page)


def task_on_screen(page) -> ImageLabel:
    return ImageLabel.objects.select_related("image", "label").get(
        pk=int(page.locator("#annotate").get_attribute("data-image-label"))
    )


def screen_point(page, task: ImageLabel, x: float, y: float) -> tuple[float, float]:
    """Where the normalised image point (x, y) is on screen; the stage letterboxes the image."""
    box = page.locator("#annotate-svg").bounding_box()
    width, height = task.image.width, task.image.height
    scale = min(box["width"] / width, box["height"] / height)
    left = box["x"] + (box["width"] - width * scale) / 2
    top = box["y"] + (box["height"] - height * scale) / 2
    return left + x * width * scale, top + y * height * scale


def drag(page, task: ImageLabel, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*screen_point(page, task, *start))
    page.mouse.down()
    page.mouse.move(*screen_point(page, task, *end), steps=4)
    page.mouse.up()


def click(page, task: ImageLabel, x: float, y: float) -> None:
    page.mouse.click(*screen_point(page, task, x, y))


def drawn_rect(page, task: ImageLabel) -> dict[str, float]:
    """The one rectangle on the stage, in normalised coordinates."""
    rect = page.locator("#annotate-shapes rect")
    expect(rect).to_have_count(1)
    values = {name: float(rect.get_attribute(name)) for name in ("x", "y", "width", "height")}
    return {
        "x": values["x"] / task.image.width,
        "y": values["y"] / task.image.height,
        "width": values["width"] / task.image.width,
        "height": values["height"] / task.image.height,
    }


def assert_rect(actual: dict, **expected: float) -> None:
    assert actual == {key: pytest.approx(value, abs=0.02) for key, value in expected.items()}


def test_draws_a_rectangle_an_ellipse_and_a_polygon_with_the_mouse_and_submits(page):
    errors = console_errors(page)
    task = annotation_task(label=LabelFactory(name="dog", description="A domestic dog."))
    ImageLabelFactory(image=task.image, label=LabelFactory(name="tree"))

    assert open_editor(page) == task
    expect(page.locator("#annotate-question")).to_have_text("Outline every dog")
    expect(page.locator("#annotate-description")).to_have_text("A domestic dog.")
    expect(page.locator("#annotate-other-labels .chip")).to_have_text(["tree"])

    drag(page, task, (0.1, 0.1), (0.4, 0.4))  # the rectangle is the starting tool
    page.keyboard.press("e")
    expect(page.locator('[data-tool="ellipse"]')).to_have_attribute("aria-pressed", "true")
    drag(page, task, (0.5, 0.1), (0.9, 0.5))
    page.keyboard.press("p")
    for x, y in ((0.2, 0.6), (0.5, 0.9), (0.1, 0.9)):
        click(page, task, x, y)
    expect(page.locator("#annotate-draft circle")).to_have_count(3)
    page.keyboard.press("Enter")

    expect(page.locator("#annotate-shapes .shape")).to_have_count(3)
    expect(page.locator("#annotate-shape-list .shape-pick")).to_have_text(
        ["Rectangle 1", "Ellipse 2", "Polygon 3"]
    )
    page.keyboard.press("d")
    expect(page.locator("#annotate-status")).to_have_text("Saved 3 shapes. Thank you!")
    expect(page.get_by_role("heading", name="Nothing to outline right now")).to_be_visible()

    annotation = Annotation.objects.get()
    assert (annotation.image_label, annotation.revision) == (task, 1)
    rect, ellipse, polygon = annotation.shapes
    assert_rect(
        {key: value for key, value in rect.items() if key != "type"},
        x=0.1,
        y=0.1,
        width=0.3,
        height=0.3,
    )
    assert ellipse["type"] == "ellipse"
    assert [ellipse[key] for key in ("cx", "cy", "rx", "ry")] == pytest.approx(
        [0.7, 0.3, 0.2, 0.2], abs=0.02
    )
    assert polygon["type"] == "polygon"
    assert polygon["points"] == [
        pytest.approx(point, abs=0.02) for point in ([0.2, 0.6], [0.5, 0.9], [0.1, 0.9])
    ]
    assert annotation.revisions.get().number == 1
    task.refresh_from_db()
    assert not task.needs_annotation
    assert errors == []


def test_moves_and_resizes_a_shape_with_undo_redo_and_delete(page):
    task = annotation_task()
    open_editor(page)
    shapes = page.locator("#annotate-shapes .shape")

    drag(page, task, (0.2, 0.2), (0.5, 0.5))
    assert_rect(drawn_rect(page, task), x=0.2, y=0.2, width=0.3, height=0.3)

    page.keyboard.press("v")
    drag(page, task, (0.35, 0.35), (0.55, 0.45))  # move it by (+0.2, +0.1)
    assert_rect(drawn_rect(page, task), x=0.4, y=0.3, width=0.3, height=0.3)
    drag(page, task, (0.7, 0.6), (0.9, 0.9))  # the bottom-right corner handle
    assert_rect(drawn_rect(page, task), x=0.4, y=0.3, width=0.5, height=0.6)

    page.keyboard.press("Control+z")
    assert_rect(drawn_rect(page, task), x=0.4, y=0.3, width=0.3, height=0.3)
    page.keyboard.press("Control+z")
    assert_rect(drawn_rect(page, task), x=0.2, y=0.2, width=0.3, height=0.3)
    page.keyboard.press("Control+Shift+z")
    assert_rect(drawn_rect(page, task), x=0.4, y=0.3, width=0.3, height=0.3)
    page.keyboard.press("Control+y")
    assert_rect(drawn_rect(page, task), x=0.4, y=0.3, width=0.5, height=0.6)

    page.keyboard.press("Delete")
    expect(shapes).to_have_count(0)
    expect(page.locator("#annotate-shape-list li")).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(shapes).to_have_count(1)
    expect(page.locator("#annotate-shape-list li")).to_have_count(1)

    page.get_by_role("button", name="Done").click()
    expect(page.locator("#annotate-status")).to_have_text("Saved 1 shape. Thank you!")
    (rect,) = Annotation.objects.get().shapes
    assert rect["type"] == "rect"
    assert_rect(
        {key: value for key, value in rect.items() if key != "type"},
        x=0.4,
        y=0.3,
        width=0.5,
        height=0.6,
    )


def test_pass_takes_the_next_task_and_not_annotatable_is_counted(page):
    first_task, second_task = annotation_task(), annotation_task()

    first = open_editor(page)
    page.keyboard.press("s")
    expect(page.locator("#annotate-status")).to_have_text("Passed.")
    expect(page.locator("#annotate")).not_to_have_attribute("data-image-label", str(first.pk))
    second = task_on_screen(page)
    assert {first, second} == {first_task, second_task}
    mark = AnnotationTaskMark.objects.get()
    assert (mark.image_label, mark.kind) == (first, TaskMarkKind.PASSED)

    page.get_by_role("button", name="Not annotatable").click()
    expect(page.locator("#annotate-empty")).to_be_visible()
    expect(page.locator("#annotate-status")).to_have_text("Noted as not annotatable.")
    assert AnnotationTaskMark.objects.get(image_label=second).kind == TaskMarkKind.NOT_ANNOTATABLE
    second.refresh_from_db()
    assert second.not_annotatable_marks == 1
    assert not Annotation.objects.exists()


def test_nothing_here_marks_the_task_and_votes_no(page):
    task = annotation_task()
    open_editor(page)

    page.keyboard.press("n")
    expect(page.locator("#annotate-status")).to_have_text("Noted: nothing to outline there.")
    expect(page.get_by_role("heading", name="Nothing to outline right now")).to_be_visible()
    expect(page.get_by_role("link", name="Validate labels")).to_have_attribute("href", "/validate/")

    mark = AnnotationTaskMark.objects.get()
    assert (mark.image_label, mark.kind) == (task, TaskMarkKind.NOTHING_HERE)
    vote = Vote.objects.get()
    assert (vote.image_label, vote.contributor, vote.answer) == (task, mark.contributor, Answer.NO)
    assert not Annotation.objects.exists()


def test_keyboard_help_polygon_keys_and_done_without_shapes(page):
    task = annotation_task()
    open_editor(page)
    help_overlay = page.locator("#annotate-help")

    page.keyboard.press("?")
    expect(help_overlay).to_be_visible()
    expect(help_overlay).to_contain_text("Nothing to annotate here")
    page.keyboard.press("d")  # ignored while the help is open
    page.keyboard.press("Escape")
    expect(help_overlay).to_be_hidden()

    page.keyboard.press("p")
    draft_points = page.locator("#annotate-draft circle")
    for x, y in ((0.2, 0.2), (0.6, 0.2), (0.6, 0.6)):
        click(page, task, x, y)
    expect(draft_points).to_have_count(3)
    page.keyboard.press("Backspace")
    expect(draft_points).to_have_count(2)
    page.keyboard.press("Escape")
    expect(draft_points).to_have_count(0)
    expect(page.locator("#annotate-shapes .shape")).to_have_count(0)

    page.keyboard.press("d")
    expect(page.locator("#annotate-status")).to_contain_text("Draw at least one shape")
    # Double-clicking the last point closes a polygon as well.
    for x, y in ((0.2, 0.2), (0.6, 0.2)):
        click(page, task, x, y)
    page.mouse.dblclick(*screen_point(page, task, 0.4, 0.7))
    expect(page.locator("#annotate-shapes polygon")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#annotate-status")).to_have_text("Saved 1 shape. Thank you!")
    assert len(Annotation.objects.get().shapes[0]["points"]) == 3


def test_refinement_chosen_for_a_shape_is_saved_with_it(page):
    RefinementFactory(name="colour", values=["red", "blue"], applies_to=["*"])
    task = annotation_task()
    open_editor(page)

    drag(page, task, (0.3, 0.3), (0.6, 0.6))
    page.keyboard.press("Escape")  # deselect, then pick it from the list
    expect(page.locator("#annotate-shape-list select")).to_have_count(0)
    page.get_by_role("button", name="Rectangle 1", exact=True).click()
    colour = page.get_by_label("colour")
    expect(colour).to_have_value("")
    colour.select_option("red")
    page.keyboard.press("d")  # ignored: the select has the focus
    expect(page.locator("#annotate-status")).to_have_text("")
    page.get_by_role("button", name="Done").click()
    expect(page.locator("#annotate-status")).to_have_text("Saved 1 shape. Thank you!")

    (shape,) = Annotation.objects.get().shapes
    assert shape["refinements"] == {"colour": "red"}


def touch(cdp, kind: str, *points: tuple[float, float]) -> None:
    cdp.send(
        "Input.dispatchTouchEvent",
        {
            "type": kind,
            "touchPoints": [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)],
        },
    )


def test_phone_draws_a_rectangle_by_touch_pinches_to_zoom_and_submits(phone_page):
    errors = console_errors(phone_page)
    task = annotation_task()
    open_editor(phone_page)
    for button in phone_page.locator("#annotate-toolbar button").all():
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, button.get_attribute("title")
    svg_box = phone_page.locator("#annotate-svg").bounding_box()
    assert svg_box["width"] >= 370  # the stage is full width

    cdp = phone_page.context.new_cdp_session(phone_page)
    start = screen_point(phone_page, task, 0.2, 0.2)
    end = screen_point(phone_page, task, 0.7, 0.8)
    touch(cdp, "touchStart", start)
    for step in range(1, 5):
        touch(
            cdp,
            "touchMove",
            (start[0] + (end[0] - start[0]) * step / 4, start[1] + (end[1] - start[1]) * step / 4),
        )
    touch(cdp, "touchEnd")
    assert_rect(drawn_rect(phone_page, task), x=0.2, y=0.2, width=0.5, height=0.6)

    # Two fingers moving apart zoom in; the shape stays as drawn.
    left, right = screen_point(phone_page, task, 0.4, 0.5), screen_point(phone_page, task, 0.6, 0.5)
    touch(cdp, "touchStart", left, right)
    touch(cdp, "touchMove", (left[0] - 60, left[1]), (right[0] + 60, right[1]))
    touch(cdp, "touchEnd")
    expect(phone_page.locator("#annotate-zoom")).to_be_visible()
    expect(phone_page.locator("#annotate-shapes .shape")).to_have_count(1)

    phone_page.get_by_role("button", name="Done").tap()
    expect(phone_page.locator("#annotate-status")).to_have_text("Saved 1 shape. Thank you!")
    (rect,) = Annotation.objects.get().shapes
    assert rect["type"] == "rect"
    assert_rect(
        {key: value for key, value in rect.items() if key != "type"},
        x=0.2,
        y=0.2,
        width=0.5,
        height=0.6,
    )
    assert errors == []


def test_browse_mode_leases_the_chosen_image(page):
    task = annotation_task(label=LabelFactory(name="cat"))
    annotation_task(label=task.label)
    other_image = ImageFactory(status="unlocked")

    assert open_editor(page, f"/annotate/?image={task.image_id}&label=cat") == task

    page.goto(f"/annotate/?image={other_image.pk}&label=cat")
    expect(page.locator("#annotate-status")).to_contain_text("This image has no label 'cat'")
    expect(page.get_by_role("button", name="Take a new task")).to_be_visible()


def test_lease_is_renewed_while_open_and_a_lost_lease_offers_a_new_task(page):
    task = annotation_task()
    page.clock.install()
    open_editor(page)
    lease = Lease.objects.get()
    Lease.objects.filter(pk=lease.pk).update(expires_at=timezone.now() + timedelta(seconds=5))

    with page.expect_response(lambda response: "/renew/" in response.url) as renewal:
        page.clock.run_for(61_000)
    assert renewal.value.status == 200
    lease.refresh_from_db()
    assert lease.expires_at > timezone.now() + timedelta(seconds=200)

    lease.delete()  # as if it had expired and been cleaned up
    drag(page, task, (0.2, 0.2), (0.5, 0.5))
    with page.expect_response(lambda response: "/renew/" in response.url):
        page.clock.run_for(60_000)
    expect(page.locator("#annotate-status")).to_contain_text("There is no such lease")
    page.keyboard.press("d")
    expect(page.locator("#annotate-status")).to_have_text(
        "Your lease on this task ended; take a new task."
    )
    assert not Annotation.objects.exists()

    page.get_by_role("button", name="Take a new task").click()
    expect(page.locator("#annotate-shapes .shape")).to_have_count(0)
    expect(page.locator("#annotate-status")).to_have_text("")
    assert Lease.objects.get().image_label == task


def test_fix_it_from_review_saves_the_moved_shape_as_a_new_revision(page):
    errors = console_errors(page)
    task = annotation_task(label=LabelFactory(name="dog"))
    annotation = annotated(task, [FIRST_RECT])

    page.goto("/annotate/review/")
    page.get_by_role("link", name="Fix it").click()
    expect(page).to_have_url(re.compile(rf"/annotate/\?annotation={annotation.pk}$"))
    expect(page.locator("#annotate-question")).to_have_text(
        "Improve the outline of dog (revision 1)"
    )
    assert_rect(drawn_rect(page, task), x=0.2, y=0.2, width=0.3, height=0.3)
    for action in ("passed", "nothing_here", "not_annotatable"):
        expect(page.locator(f'#annotate-actions [data-action="{action}"]')).to_be_hidden()
    expect(page.locator(".annotate-keys [data-task-only]")).to_be_hidden()  # "S pass"

    page.keyboard.press("v")
    expect(page.locator('[data-tool="select"]')).to_have_attribute("aria-pressed", "true")
    drag(page, task, (0.35, 0.35), (0.55, 0.45))  # move it by (+0.2, +0.1)
    assert_rect(drawn_rect(page, task), x=0.4, y=0.3, width=0.3, height=0.3)
    page.get_by_role("button", name="Done").click()

    expect(page.locator("#annotate-status")).to_have_text("Saved as revision 2.")
    expect(page.get_by_role("link", name="Back to reviewing")).to_have_attribute(
        "href", "/annotate/review/"
    )
    expect(page.locator("#annotate-question")).to_have_text(
        "Improve the outline of dog (revision 2)"
    )
    annotation.refresh_from_db()
    assert annotation.revision == 2
    (rect,) = annotation.shapes
    assert_rect(
        {key: value for key, value in rect.items() if key != "type"},
        x=0.4,
        y=0.3,
        width=0.3,
        height=0.3,
    )
    old, new = annotation.revisions.order_by("number")
    assert (old.number, old.shapes) == (1, [FIRST_RECT])
    assert (new.number, new.shapes) == (2, annotation.shapes)
    assert not Lease.objects.exists()
    assert errors == []


def test_fix_it_conflict_keeps_the_other_save_and_reload_shows_it(page):
    task = annotation_task(label=LabelFactory(name="dog"))
    annotation = annotated(task, [FIRST_RECT])
    page.goto(f"/annotate/?annotation={annotation.pk}")
    expect(page.locator("#annotate-question")).to_have_text(
        "Improve the outline of dog (revision 1)"
    )
    expect(page.locator("#annotate-shapes .shape")).to_have_count(1)

    ellipse = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.2, "ry": 0.1}
    annotation_revise(
        contributor=ContributorFactory(),
        annotation_id=annotation.pk,
        base_revision=1,
        shapes=[ellipse],
    )
    drag(page, task, (0.6, 0.6), (0.9, 0.9))
    expect(page.locator("#annotate-shapes .shape")).to_have_count(2)
    page.get_by_role("button", name="Done").click()

    expect(page.locator("#annotate-status")).to_contain_text(
        "Someone saved revision 2 after revision 1"
    )
    annotation.refresh_from_db()
    assert annotation.revision == 2
    assert [shape["type"] for shape in annotation.shapes] == ["ellipse"]
    assert annotation.revisions.count() == 2
    expect(page.locator("#annotate-shapes .shape")).to_have_count(2)  # own edits still shown

    page.get_by_role("button", name="Reload").click()
    expect(page.locator("#annotate-question")).to_have_text(
        "Improve the outline of dog (revision 2)"
    )
    expect(page.locator("#annotate-shapes ellipse")).to_have_count(1)
    expect(page.locator("#annotate-shapes rect")).to_have_count(0)
    expect(page.locator("#annotate-status")).to_have_text("")


def test_unified_mode_adds_a_label_from_the_catalog_for_others_to_confirm(page):
    cat = LabelFactory(name="cat")
    task = annotation_task(label=LabelFactory(name="dog"))
    open_editor(page)

    page.get_by_label("Add a label").fill("ca")
    option = page.locator("#annotate-add-label-options .autocomplete-option")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("cat")
    page.get_by_label("Add a label").press("Enter")

    expect(page.locator("#annotate-status")).to_have_text(
        "Added ‘cat’ — others will confirm it, then it can be outlined."
    )
    expect(page.locator('#annotate-other-labels .chip[data-label="cat"]')).to_contain_text("added")
    added = ImageLabel.objects.get(image=task.image, label=cat)
    assert added.state == ImageLabelState.OPEN
    assert not added.needs_annotation
    assert Lease.objects.get().image_label == task  # still on the same task


def test_unified_mode_outlines_another_confirmed_object_of_the_image_next(page):
    task = annotation_task(label=LabelFactory(name="dog"))
    tree = annotation_task(image=task.image, label=LabelFactory(name="tree"))
    ImageLabelFactory(
        image=task.image, label=LabelFactory(name="sky"), state=ImageLabelState.CONFIRMED
    )
    assert open_editor(page, f"/annotate/?image={task.image_id}&label=dog") == task

    page.get_by_role("button", name="Outline sky next").click()
    expect(page.locator("#annotate-status")).to_have_text(
        "This object does not need an outline (it is not confirmed yet, or was retired)."
    )
    drag(page, task, (0.2, 0.2), (0.5, 0.5))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Outline tree next").click()
    expect(page.locator("#annotate-question")).to_have_text("Outline every tree")
    expect(page.locator("#annotate-shapes .shape")).to_have_count(0)
    assert Lease.objects.get().image_label == tree
