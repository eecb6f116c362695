"""Labels a donor gives with a donation.

Donations sit below the label catalog, so the label app registers, in its AppConfig.ready(),
how to check the words (before any image work, so a bad label stores nothing) and how to attach
them to the new image (inside the donation's transaction)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DonationLabelling:
    clean: Callable[[list[str]], list[str]]
    attach: Callable[..., object]


_labelling: list[DonationLabelling] = []


def donation_labelling_register(*, clean: Callable, attach: Callable) -> None:
    _labelling[:] = [DonationLabelling(clean=clean, attach=attach)]


def donation_labels_clean(texts: list[str]) -> list[str]:
    """The words, checked and trimmed; a DomainError names the first unusable one."""
    return _labelling[0].clean(texts)


def donation_labels_attach(*, contributor, image, texts: list[str]) -> None:
    _labelling[0].attach(contributor=contributor, image=image, texts=texts)
