"""Automatic nudity screening of new donations with NudeNet's offline ONNX model.

NudeNet (`pip install -r requirements-screening.txt`) carries its model inside the wheel, so
nothing is downloaded at run time. The package's licence file and its model (a YOLOv8n
detector, from Ultralytics' AGPL-3.0 code) are AGPL-3.0, so screening is an optional extra:
without it every donation stays pending, marked "screening unavailable", exactly as if the model
had failed to load. The score is the detector's highest confidence for an exposed intimate
body part; faces, covered parts and feet do not count.
"""

import functools
import logging

logger = logging.getLogger(__name__)

# The detector's classes that make a photo unsuitable for a public, all-ages dataset.
EXPOSED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)


class ScreeningUnavailable(Exception):
    """The model could not be loaded (not installed, or broken)."""


@functools.cache
def _detector():
    try:
        from nudenet import NudeDetector

        return NudeDetector()
    except Exception as error:  # ImportError, a broken wheel, onnxruntime refusing the model
        logger.warning("Nudity screening is unavailable: %r", error)
        raise ScreeningUnavailable(f"the NudeNet model could not be loaded ({error})") from error


def detections_of(data: bytes) -> list[dict]:
    """The detector's findings for an encoded image: [{"class", "score", "box"}, ...]."""
    return _detector().detect(data)


def nudity_score(detections: list[dict]) -> float:
    """The highest confidence of an exposed intimate part, 0 when there is none."""
    return max(
        (float(item["score"]) for item in detections if item["class"] in EXPOSED), default=0.0
    )
