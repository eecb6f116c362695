import pytest

from donations.models import ImageStatus
from labels_app.models import ImageLabelState
from tests.factories import ImageFactory, ImageLabelFactory, LabelFactory, submitted_annotation

# On a 160×120 image (the factories' photos), and the pixel boxes they come out as.
RECT = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.5, "height": 0.25}
ELLIPSE = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.25, "ry": 0.25}
TRIANGLE = {"type": "polygon", "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4]]}
PIXEL_BOXES = [(16, 24, 96, 54), (40, 30, 120, 90), (16, 12, 64, 48)]


@pytest.fixture
def outlined_dog():
    """A dog (under animal) outlined with a rect, an ellipse and a triangle on one image, and
    an image confirmed not to show a cat."""
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name="dog", parent=animal)
    cat = LabelFactory(name="cat", parent=animal)
    annotation = submitted_annotation(label=dog, shapes=[RECT, ELLIPSE, TRIANGLE])
    no_cat = ImageFactory(status=ImageStatus.UNLOCKED)
    ImageLabelFactory(image=no_cat, label=cat, state=ImageLabelState.REJECTED, probability=0.003)
    return {"image": str(annotation.image_label.image_id), "no_cat": str(no_cat.pk), "dog": dog}
