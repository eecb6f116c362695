import math

import pytest

from annotations.shapes import shapes_clean
from core.errors import DomainError

REFINEMENTS = {"colour": ["red", "blue"]}
RECT = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.3, "height": 0.4}
ELLIPSE = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.1, "ry": 0.2}
TRIANGLE = {"type": "polygon", "points": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.8]]}


def clean(shapes):
    return shapes_clean(shapes, refinements=REFINEMENTS)


def refusal(shapes) -> str:
    with pytest.raises(DomainError) as caught:
        clean(shapes)
    assert caught.value.code == "invalid_shape"
    assert caught.value.status == 400
    return caught.value.message


def test_valid_shapes_of_each_type_pass_unchanged():
    shapes = [RECT, ELLIPSE, {**TRIANGLE, "refinements": {"colour": "red"}}]

    assert clean(shapes) == shapes


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        ([{**RECT, "x": 1.2}], "shapes[0].x: 1.2 is outside 0–1"),
        ([{**RECT, "y": -0.1}], "shapes[0].y: -0.1 is outside 0–1"),
        ([{**RECT, "width": math.nan}], "shapes[0].width: must be a finite number"),
        ([{**ELLIPSE, "rx": math.inf}], "shapes[0].rx: must be a finite number"),
        ([{**RECT, "x": "0.1"}], "shapes[0].x: must be a number"),
        ([{**RECT, "x": True}], "shapes[0].x: must be a number"),
        ([{**RECT, "x": 0.8, "width": 0.5}], "the rectangle reaches outside the image"),
        ([{**RECT, "width": 0}], "the rectangle has no area"),
        ([{**ELLIPSE, "cx": 0.95}], "the ellipse reaches outside the image"),
        ([{"type": "polygon", "points": [[0.1, 0.1], [0.2, 0.2]]}], "at least 3 points, not 2"),
        (
            [{"type": "polygon", "points": [[0.1, 0.1]] * 100_000}],
            "at most 500 points per polygon, not 100000",
        ),
        (
            [{"type": "polygon", "points": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]}],
            "the polygon is degenerate",
        ),
        ([{"type": "polygon", "points": [[0.1, 0.1], [0.1, 0.1], [0.1, 0.1]]}], "degenerate"),
        ([{"type": "polygon", "points": [[0.1], [0.2, 0.2], [0.3, 0.1]]}], "points[0]: must be"),
        ([{"type": "circle", "r": 1}], "shapes[0].type: 'circle' is not one of"),
        # Found by the schema fuzzer: a type that is not even a string answered 500.
        ([{"type": {}, "points": [[0, 0], [0, 1], [1, 1]]}], "shapes[0].type: '{}' is not one of"),
        ([{**RECT, "type": ["rect"]}], "shapes[0].type: \"['rect']\" is not one of"),
        ([{**RECT, "label": "dog"}], "shapes[0]: unknown field(s) label"),
        ([{"type": "rect", "x": 0.1}], "shapes[0]: missing height, width, y"),
        ([{**RECT, "refinements": {"size": "big"}}], "shapes[0].refinements.size: is not a"),
        ([{**RECT, "refinements": {"colour": "mauve"}}], "'mauve' is not one of its values"),
        ([RECT, "rect"], "shapes[1]: must be an object"),
        ([RECT] * 101, "At most 100 shapes per annotation, not 101."),
        ([], "Draw at least one shape"),
        ({"type": "rect"}, "shapes must be a list."),
    ],
)
def test_bad_shapes_are_refused_naming_the_shape_and_field(shapes, message):
    assert message in refusal(shapes)
