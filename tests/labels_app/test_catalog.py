import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labels_app.catalog_files import CATALOG_DIR, CatalogError, catalog_read
from labels_app.models import Label, LabelKind, LabelTerm
from labels_app.terms import term_normalise, term_singular

DOG = {
    "name": "dog",
    "plural": "dogs",
    "description": "A domestic dog.",
    "kind": "object",
    "parent": "animal",
    "has": ["tail"],
    "aliases": ["puppy"],
}
ANIMAL = {"name": "animal", "plural": "animals", "description": "Any animal.", "kind": "object"}
TAIL = {"name": "tail", "plural": "tails", "description": "An animal's tail.", "kind": "object"}
COLOUR = {
    "name": "colour",
    "plural": "colours",
    "description": "The main colour.",
    "kind": "refinement",
    "values": ["red", "blue"],
    "aliases": ["color"],
    "question": "What colour is this {label}?",
    "applies_to": ["animal"],
}
SHADE = {**COLOUR, "name": "shade", "plural": "shades", "aliases": []}


def write_catalog(folder, **files):
    folder.mkdir(exist_ok=True)
    for stem, labels in files.items():
        (folder / f"{stem}.json").write_text(json.dumps({"group": stem, "labels": labels}))
    return folder


def sync(folder, *args) -> str:
    out = StringIO()
    call_command("sync_labels", "--catalog", str(folder), *args, stdout=out)
    return out.getvalue()


def problems_for(folder) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        catalog_read(folder)
    return caught.value.problems


def test_shipped_catalog_is_valid_and_large_enough():
    entries = catalog_read(CATALOG_DIR)

    kinds = [entry.kind for entry in entries]
    assert len(entries) >= 150
    assert kinds.count(LabelKind.OBJECT) >= 100
    assert kinds.count(LabelKind.SCENE) >= 10
    assert kinds.count(LabelKind.REFINEMENT) >= 5


@pytest.mark.django_db
def test_sync_creates_labels_hierarchy_parts_and_terms(tmp_path):
    folder = write_catalog(tmp_path / "c", animals=[ANIMAL, DOG, TAIL], refinements=[COLOUR])

    output = sync(folder)

    dog = Label.objects.get(name="dog")
    assert "4 labels in the catalog; synced: 4 created" in output
    assert dog.parent.name == "animal"
    assert list(dog.parts.values_list("name", flat=True)) == ["tail"]
    assert dog.group == "animals"
    assert Label.objects.get(name="colour").values == ["red", "blue"]
    assert LabelTerm.objects.get(term="puppy").label == dog
    assert LabelTerm.objects.get(term="dogs").label == dog
    assert LabelTerm.objects.get(term="color").label.name == "colour"


@pytest.mark.django_db
def test_sync_is_idempotent(tmp_path):
    folder = write_catalog(tmp_path / "c", animals=[ANIMAL, DOG, TAIL])
    sync(folder)
    before = list(Label.objects.values_list("pk", "name", "updated_at"))

    output = sync(folder)

    assert "synced: 0 created, 0 updated, 0 reactivated, 0 deactivated" in output
    assert list(Label.objects.values_list("pk", "name", "updated_at")) == before


@pytest.mark.django_db
def test_sync_updates_changed_labels_and_reports_them(tmp_path):
    folder = write_catalog(tmp_path / "c", animals=[ANIMAL, DOG, TAIL])
    sync(folder)
    changed_dog = {**DOG, "description": "Any domestic dog, puppies included.", "has": []}
    write_catalog(folder, animals=[ANIMAL, changed_dog, TAIL])

    output = sync(folder)

    dog = Label.objects.get(name="dog")
    assert "updated (1): dog" in output
    assert dog.description == "Any domestic dog, puppies included."
    assert dog.parts.count() == 0


@pytest.mark.django_db
def test_labels_removed_from_the_catalog_are_deactivated_not_deleted(tmp_path):
    folder = write_catalog(tmp_path / "c", animals=[ANIMAL, DOG, TAIL])
    sync(folder)
    write_catalog(folder, animals=[ANIMAL, {**DOG, "has": []}])

    output = sync(folder)

    tail = Label.objects.get(name="tail")
    assert "deactivated (1): tail" in output
    assert tail.active is False
    assert not LabelTerm.objects.filter(term="tail").exists()

    write_catalog(folder, animals=[ANIMAL, DOG, TAIL])
    assert "reactivated (1): tail" in sync(folder)
    tail.refresh_from_db()
    assert tail.active is True


@pytest.mark.django_db
def test_dry_run_reports_without_changing_anything(tmp_path):
    folder = write_catalog(tmp_path / "c", animals=[ANIMAL, DOG, TAIL])

    output = sync(folder, "--dry-run")

    assert "would change: 3 created" in output
    assert Label.objects.count() == 0


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        ([{**ANIMAL, "colour": "brown"}], "animals.json: labels[0]: unknown field(s) colour"),
        ([{"name": "animal", "plural": "animals"}], "labels[0].description: is required"),
        ([{**ANIMAL, "name": "Big Animal"}], "labels[0].name: 'Big Animal' must be lowercase"),
        ([{**ANIMAL, "kind": "thing"}], "labels[0].kind: 'thing' is not one of"),
        ([{**ANIMAL, "kind": "refinement"}], "labels[0].values: a refinement needs its list"),
        ([{**ANIMAL, "values": ["x"]}], "labels[0].values: only refinements have values"),
        ([{**ANIMAL, "question": "Q {label}?"}], "labels[0].question: only refinements have"),
        ([{**ANIMAL, "applies_to": ["*"]}], "labels[0].applies_to: only refinements have"),
        ([{**SHADE, "question": "What shade?"}], "labels[0].question: a refinement needs a"),
        ([{**SHADE, "question": "Is {label} {x}?"}], "no placeholder other than {label}"),
        ([{**SHADE, "applies_to": []}], "labels[0].applies_to: name the groups or labels"),
        ([ANIMAL, {**SHADE, "applies_to": ["animl"]}], "'animl' is neither a catalog group"),
        ([ANIMAL, {**SHADE, "applies_to": ["shade"]}], "'shade' is a refinement, not an object"),
        ([{**ANIMAL, "description": "x" * 301}], "labels[0].description: longer than 300"),
        ([ANIMAL, {**DOG, "has": []}, {**TAIL, "parent": "dgo"}], "tail.parent: unknown label"),
        ([ANIMAL, {**DOG, "has": ["paw"]}], "dog.has: unknown label 'paw'"),
        ([ANIMAL, ANIMAL], "animal.name: also defined in animals.json"),
        ([ANIMAL, {**TAIL, "aliases": ["animals"]}], "'animals' already means 'animal'"),
        ([{**ANIMAL, "parent": "dog"}, {**DOG, "has": []}], "the hierarchy loops"),
    ],
)
def test_catalog_errors_name_the_file_and_field(tmp_path, labels, problem):
    folder = write_catalog(tmp_path / "c", animals=labels)

    assert any(problem in line for line in problems_for(folder)), problems_for(folder)


def test_invalid_json_names_the_file(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "broken.json").write_text('{"labels": [')

    assert problems_for(folder)[0].startswith("broken.json: not valid JSON")


@pytest.mark.django_db
def test_sync_command_refuses_a_broken_catalog_and_changes_nothing(tmp_path):
    folder = write_catalog(tmp_path / "c", animals=[ANIMAL, {**DOG, "parent": "beast"}, TAIL])

    with pytest.raises(CommandError, match=r"dog\.parent: unknown label 'beast'"):
        sync(folder)
    assert Label.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "normal"),
    [("Traffic_Light", "traffic light"), ("  t-shirt ", "t shirt"), ("DOG", "dog")],
)
def test_terms_are_normalised_for_case_spaces_and_underscores(text, normal):
    assert term_normalise(text) == normal


@pytest.mark.parametrize(
    ("plural", "singular"),
    [("dogs", "dog"), ("puppies", "puppy"), ("boxes", "box"), ("glass", "glass"), ("bus", "bus")],
)
def test_plurals_fold_to_a_singular(plural, singular):
    assert term_singular(plural) == singular
