"""The original's pixel shapes and the site's normalised ones: the strict check, the conversion
both ways, and the verbatim copy that makes the echo exact."""

import math

import pytest

from annotations.shapes import MAX_ORIGINAL_BYTES, shapes_clean
from core.errors import DomainError
from datasets.v1.shapes import (
    ELLIPSE_OUTLINE_POINTS,
    MESSAGE,
    ShapeInvalid,
    geometry_from_wire,
    refinement_ids,
    refinement_uuid,
    shape_to_wire,
    shapes_from_wire,
    wire_shapes_check,
)

# The fixture of the original's tests: tests/images/apples/apple1.jpeg.
W, H = 1132, 750
GO_RECT = {
    "top": 100,
    "left": 200,
    "type": "rect",
    "angle": 0,
    "width": 40,
    "height": 60,
    "stroke": {"color": "red", "width": 1},
}
REFINEMENTS = {"colour": ["red", "blue"], "material": ["wood", "metal"]}


def _site(wire: dict) -> dict:
    """One pixel shape as the site stores it: converted, then through the site's own check."""
    converted = shapes_from_wire([wire], W, H, refinements=refinement_ids(REFINEMENTS))
    return shapes_clean(converted, refinements=REFINEMENTS)[0]


@pytest.mark.parametrize(
    "shapes",
    [
        [],
        None,
        "rect",
        [["rect"]],
        [{"left": 1}],
        [{"type": "square", "left": 1}],
        [{"type": 1}],
        [{**GO_RECT, "fill": "blue"}],
        [{**GO_RECT, "rx": 3}],
        [{**GO_RECT, "stroke": {"color": "red", "width": 1, "dash": [2]}}],
        [{**GO_RECT, "stroke": "red"}],
        [{**GO_RECT, "stroke": {"color": 5}}],
        [{**GO_RECT, "refinements": [{"label_uuid": "x", "invalid-key": 1}]}],
        [{**GO_RECT, "refinements": {"label_uuid": "x"}}],
        [{**GO_RECT, "refinements": [{"label_uuid": 7}]}],
        [{**GO_RECT, "left": "200"}],
        [{**GO_RECT, "left": True}],
        [{**GO_RECT, "width": 1e39}],
        [{"type": "polygon", "points": [{"x": 1, "y": 2, "z": 3}]}],
        [{"type": "polygon", "points": [[1, 2], [3, 4], [5, 6]]}],
        [{"type": "polygon", "points": {"x": 1}}],
        [{"type": "ellipse", "left": 1, "top": 1, "rx": 2, "ry": 2, "width": 3}],
    ],
)
def test_the_strict_check_refuses_what_the_original_decoder_refuses(shapes):
    with pytest.raises(ShapeInvalid) as refused:
        wire_shapes_check(shapes)
    assert refused.value.message == MESSAGE


def test_the_strict_check_takes_every_allowed_key_and_nulls_like_go():
    shapes = [
        GO_RECT,
        {"type": "ellipse", "left": 1, "top": 2, "rx": 3, "ry": 4, "angle": None, "stroke": None},
        {"type": "polygon", "points": [{"x": 1, "y": 2}], "left": 0, "top": 0, "angle": 0},
        {**GO_RECT, "refinements": [{"label_uuid": "0f"}], "stroke": {}},
    ]
    assert wire_shapes_check(shapes) is shapes


def test_an_unrotated_rect_is_the_same_rect_normalised():
    assert geometry_from_wire(GO_RECT, W, H) == {
        "type": "rect",
        "x": 200 / W,
        "y": 100 / H,
        "width": 40 / W,
        "height": 60 / H,
    }


def test_a_rect_reaching_outside_the_image_is_cut_to_it():
    shape = geometry_from_wire(
        {"type": "rect", "left": -10, "top": 700, "width": 30, "height": 100}, W, H
    )
    assert shape == {"type": "rect", "x": 0.0, "y": 700 / H, "width": 20 / W, "height": 50 / H}


def test_a_shape_outside_the_image_is_refused_with_the_reason():
    with pytest.raises(ShapeInvalid) as refused:
        geometry_from_wire({"type": "rect", "left": 2000, "top": 10, "width": 5, "height": 5}, W, H)
    assert "outside the image" in refused.value.message
    assert refused.value.message.startswith(MESSAGE + ": ")


def test_a_rotated_rect_is_the_polygon_of_its_corners_turned_round_left_top():
    shape = geometry_from_wire(
        {"type": "rect", "left": 100, "top": 100, "width": 40, "height": 20, "angle": 90}, W, H
    )
    assert shape["type"] == "polygon"
    # Clockwise on screen (y down): the width runs down, the height runs left.
    expected = [(100, 100), (100, 140), (80, 140), (80, 100)]
    assert [(round(x * W, 9), round(y * H, 9)) for x, y in shape["points"]] == expected


def test_an_ellipse_left_top_is_the_corner_of_its_bounding_box():
    shape = geometry_from_wire(
        {"type": "ellipse", "left": 100, "top": 50, "rx": 30, "ry": 20, "angle": 0}, W, H
    )
    assert shape == {"type": "ellipse", "cx": 130 / W, "cy": 70 / H, "rx": 30 / W, "ry": 20 / H}


def test_a_rotated_ellipse_is_the_polygon_of_its_outline():
    shape = geometry_from_wire(
        {"type": "ellipse", "left": 300, "top": 300, "rx": 60, "ry": 20, "angle": 90}, W, H
    )
    assert shape["type"] == "polygon"
    assert len(shape["points"]) == ELLIPSE_OUTLINE_POINTS
    xs = [x * W for x, _ in shape["points"]]
    ys = [y * H for _, y in shape["points"]]
    # Turned a quarter round its corner (300, 300): the centre is at (280, 360), long side down.
    assert math.isclose(min(xs), 260, abs_tol=1e-6) and math.isclose(max(xs), 300, abs_tol=1e-6)
    assert math.isclose(min(ys), 300, abs_tol=1e-6) and math.isclose(max(ys), 420, abs_tol=1e-6)


def test_a_polygon_is_clipped_to_the_image():
    shape = geometry_from_wire(
        {
            "type": "polygon",
            "points": [{"x": -100, "y": 0}, {"x": 100, "y": 0}, {"x": 100, "y": 200}],
        },
        W,
        H,
    )
    points = [(round(x * W, 9), round(y * H, 9)) for x, y in shape["points"]]
    assert points == [(0, 100), (0, 0), (100, 0), (100, 200)]


def test_the_stored_shape_passes_the_site_check_with_its_original():
    stored = _site(GO_RECT)
    assert stored["original"] == GO_RECT
    assert stored["type"] == "rect"


@pytest.mark.parametrize(
    "wire",
    [
        GO_RECT,
        {"type": "rect", "left": 10.25, "top": 20.5, "width": 33.125, "height": 7},
        {"type": "rect", "left": 500, "top": 300, "width": 80, "height": 40, "angle": 33.5},
        {"type": "ellipse", "left": 100, "top": 50, "rx": 30, "ry": 20, "angle": 0},
        {"type": "ellipse", "left": 400, "top": 200, "rx": 60, "ry": 20, "angle": -45},
        {
            "type": "polygon",
            "points": [{"x": 1.1, "y": 2.2}, {"x": 300.7, "y": 2}, {"x": 150, "y": 400.3}],
            "stroke": {"width": 2, "color": "#F00"},
        },
    ],
)
def test_a_shape_a_client_sent_comes_back_exactly(wire):
    assert shape_to_wire(_site(wire), W, H) == wire


def test_refinements_come_back_as_label_uuids_in_the_clients_order():
    red, metal = refinement_uuid("colour", "red"), refinement_uuid("material", "metal")
    wire = {**GO_RECT, "refinements": [{"label_uuid": metal}, {"label_uuid": red}]}
    stored = _site(wire)
    assert stored["refinements"] == {"colour": "red", "material": "metal"}
    assert shape_to_wire(stored, W, H) == wire
    assert "refinements" not in shape_to_wire(stored, W, H, refinements=False)


def test_refinements_decided_later_are_added_to_the_echo():
    stored = _site(GO_RECT)
    stored["refinements"] = {"colour": "blue"}  # as the quiz writes a decided value
    assert shape_to_wire(stored, W, H) == {
        **GO_RECT,
        "refinements": [{"label_uuid": refinement_uuid("colour", "blue")}],
    }


def test_an_unknown_refinement_and_two_values_of_one_kind_are_refused():
    with pytest.raises(ShapeInvalid, match="is not a refinement value"):
        _site({**GO_RECT, "refinements": [{"label_uuid": "b1946ac9-2b8a-4c5f-9b51-7b0f05b2b5a1"}]})
    both = [{"label_uuid": refinement_uuid("colour", value)} for value in ("red", "blue")]
    with pytest.raises(ShapeInvalid, match="one colour, not both red and blue"):
        _site({**GO_RECT, "refinements": both})


def test_site_drawn_shapes_come_out_in_pixels_without_added_stroke():
    shapes = [
        {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.5, "height": 0.25},
        {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.25, "ry": 0.25},
        {"type": "polygon", "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4]]},
    ]
    assert [shape_to_wire(shape, 160, 120) for shape in shapes] == [
        {"type": "rect", "left": 16, "top": 24, "width": 80, "height": 30, "angle": 0},
        {"type": "ellipse", "left": 40, "top": 30, "rx": 40, "ry": 30, "angle": 0},
        {
            "type": "polygon",
            "points": [{"x": 16, "y": 12}, {"x": 64, "y": 12}, {"x": 64, "y": 48}],
            "angle": 0,
        },
    ]


def test_an_original_that_no_longer_describes_the_geometry_is_not_given_back():
    stored = _site(GO_RECT)
    stored["x"] = 0.5  # reworked elsewhere, the copy left behind
    assert shape_to_wire(stored, W, H)["left"] == 566


def test_the_site_check_refuses_an_original_that_is_not_a_small_object():
    rect = {"type": "rect", "x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}
    with pytest.raises(DomainError, match=r"shapes\[0\].original: must be an object"):
        shapes_clean([{**rect, "original": [1]}], refinements={})
    with pytest.raises(DomainError, match=f"at most {MAX_ORIGINAL_BYTES} bytes"):
        shapes_clean([{**rect, "original": {"pad": "x" * MAX_ORIGINAL_BYTES}}], refinements={})
