"""Training feedback on pages: a trainee's verdict on a gold item, shown with its photo.

The page after an answer already asks about another photo, so the verdict travels in the
session with a thumbnail of the one it is about (and the outlines judged, for a review);
otherwise it would read as a verdict on the new question."""

from django.contrib import messages

FEEDBACK_SESSION_KEY = "training_feedback"


def training_feedback_show(
    request, feedback: dict | None, *, image_id, question: str, shapes: list | None = None
) -> None:
    """Keep a trainee's verdict (right or not, the expected answer) for the next page."""
    if not feedback:
        return
    expected = feedback["expected"]
    verdict = (
        f"Right — the answer was “{expected}”."
        if feedback["correct"]
        else f"Not quite — the right answer was “{expected}”."
    )
    request.session[FEEDBACK_SESSION_KEY] = {
        "correct": feedback["correct"],
        "verdict": verdict,
        "image_id": str(image_id),
        "question": question,
        "shapes": shapes or [],
    }
    if feedback["training_passed"]:
        messages.success(request, "Training passed: your answers now count. Thank you!")


def training_feedback_take(request) -> dict | None:
    """The verdict waiting for this page, shown once."""
    return request.session.pop(FEEDBACK_SESSION_KEY, None)
