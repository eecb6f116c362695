"""Public dumps (releases): what they hold, what they never hold, incremental dumps, the
checked restore and its refusals, the round trip, Croissant, the releases page, the task."""

import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from annotations.models import (
    Annotation,
    AnnotationRevision,
    AnnotationVote,
    RefinementAnswer,
    RefinementQuestion,
    ShapeRefinement,
)
from annotations.services import annotation_revise
from contributors.models import Contributor
from datasets.dumps.loader import dump_load, dump_verify
from datasets.dumps.pseudonyms import pseudonym_key, pseudonym_of
from datasets.dumps.tables import TABLES
from datasets.dumps.writer import dump_write
from datasets.models import ContributorPseudonym, DatasetRelease
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabel, Label, LabelTerm, TermKind
from labels_app.terms import term_normalise
from tests.factories import (
    ContributorFactory,
    GoldImageLabelFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
    RegisteredContributorFactory,
    UserFactory,
    submitted_annotation,
)
from validations.models import Vote

pytestmark = pytest.mark.django_db

RECT = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.5, "height": 0.25}
WIDER = {"type": "rect", "x": 0.1, "y": 0.2, "width": 0.6, "height": 0.25}
SECRET_NAME = "alice-secret-name"
SECRET_EMAIL = "alice.private@example.org"
NETWORK = "203.0.113.0"
VOTE_NETWORK = "c0ffee1234567890"
DATA_TABLES = [table.name for table in TABLES]


@pytest.fixture
def dataset():
    """A small site: a dog outlined twice (revisions), reviewed, refined and quizzed, voted on
    by a registered voter; a gold item; a hidden and a pending image that must stay out."""
    user = UserFactory(username=SECRET_NAME, email=SECRET_EMAIL)
    voter = RegisteredContributorFactory(user=user, last_network=NETWORK)
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name="dog", parent=animal)
    tail = LabelFactory(name="tail")
    dog.parts.add(tail)
    LabelTerm.objects.create(label=dog, term="doggo", display="doggo", kind=TermKind.ALIAS)
    colour = RefinementFactory(name="colour")
    author = ContributorFactory(last_network="198.51.100.0")
    annotation = submitted_annotation(label=dog, shapes=[RECT], author=author)
    annotation = annotation_revise(
        contributor=author, annotation_id=annotation.pk, base_revision=1, shapes=[WIDER]
    )
    dog_label = annotation.image_label
    Vote.objects.create(
        image_label=dog_label, contributor=voter, answer="yes", network=VOTE_NETWORK, on_gold=False
    )
    AnnotationVote.objects.create(
        annotation=annotation, revision=2, contributor=voter, answer="good"
    )
    ShapeRefinement.objects.create(
        annotation=annotation, shape_index=0, refinement=colour, value="red"
    )
    # Revising opened the quiz question about the new shape's colour.
    question, _ = RefinementQuestion.objects.get_or_create(
        annotation=annotation, revision=2, shape_index=0, refinement=colour
    )
    RefinementAnswer.objects.create(question=question, contributor=voter, value="red")
    gold = GoldImageLabelFactory(label=animal, added_by=voter)
    hidden = ImageFactory(status=ImageStatus.HIDDEN)
    ImageLabelFactory(image=hidden, label=dog)
    pending = ImageFactory(status=ImageStatus.PENDING, donor=voter)
    return {
        "voter": voter,
        "author": author,
        "dog": dog,
        "annotation": annotation,
        "image": dog_label.image,
        "gold": gold,
        "hidden": hidden,
        "pending": pending,
    }


def records(directory: Path, table: str) -> list[dict]:
    lines = (directory / f"data/{table}.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines]


def data_files(directory: Path) -> dict[str, bytes]:
    """The release's data: tables and image files (not the manifest, README or metadata,
    which name the release and its time)."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.parts[len(directory.parts)] in ("data", "images")
    }


def instance_empty(media: Path) -> None:
    """What a fresh instance has: no rows of the dataset, no files."""
    for model in (
        RefinementAnswer,
        RefinementQuestion,
        ShapeRefinement,
        AnnotationVote,
        AnnotationRevision,
        Annotation,
        Vote,
        ImageLabel,
        Image,
        LabelTerm,
        Label,
        ContributorPseudonym,
        Contributor,
    ):
        model.objects.all().delete()
    get_user_model().objects.all().delete()
    shutil.rmtree(media)
    media.mkdir()


def row_counts() -> dict[str, int]:
    return {table.name: table.model.objects.count() for table in TABLES} | {
        "contributors": Contributor.objects.count()
    }


# --- What a release holds ------------------------------------------------------------------


def test_dump_holds_every_public_table_with_manifest_checksums(dataset, tmp_path, isolated_media):
    out = tmp_path / "release"
    call_command("dataset_dump", str(out))

    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["counts"] == {
        "labels": 4,
        "images": 2,
        "image_labels": 2,
        "votes": 1,
        "annotations": 1,
        "annotation_revisions": 2,
        "annotation_reviews": 1,
        "refinements": 1,
        "quiz_questions": 2,  # one per revision (the first is stale)
        "quiz_answers": 1,
        "image_files": 2,
    }
    assert manifest["schema_version"] == 1
    assert len(manifest["catalog_version"]) == 16
    listed = {entry["name"]: entry for entry in manifest["files"]}
    for table in DATA_TABLES:
        assert {f"data/{table}.jsonl", f"data/{table}.parquet"} <= listed.keys()
    assert {"README.md", "croissant.json", "SHA256SUMS"} <= listed.keys()
    import hashlib

    for name, entry in listed.items():
        content = (out / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), name
        assert entry["bytes"] == len(content)

    images = records(out, "images")
    assert [image["id"] for image in images] == sorted(
        [str(dataset["image"].pk), str(dataset["gold"].image_id)]
    )
    stored = Image.objects.get(pk=dataset["image"].pk)
    # The stored bytes, as they are (not re-encoded).
    copied = next(image for image in images if image["id"] == str(stored.pk))
    assert (out / copied["file"]).read_bytes() == (isolated_media / stored.file.name).read_bytes()
    checksums = (out / "SHA256SUMS").read_text()
    assert f"{stored.sha256}  {stored.file.name}\n" in checksums

    revisions = records(out, "annotation_revisions")
    assert [(r["number"], r["shapes"][0]["width"]) for r in revisions] == [(1, 0.5), (2, 0.6)]
    labels = {label["name"]: label for label in records(out, "labels")}
    assert labels["dog"]["parts"] == [labels["tail"]["id"]]
    assert labels["dog"]["aliases"] == ["doggo"]
    assert labels["dog"]["parent_id"] == labels["animal"]["id"]
    assert records(out, "quiz_answers")[0]["value"] == "red"
    assert "CC0 1.0" in (out / "README.md").read_text()

    import pyarrow.parquet as pq

    votes = pq.read_table(out / "data/votes.parquet").to_pylist()
    assert votes == records(out, "votes")


def test_dump_has_no_personal_data_and_no_gold_answers(dataset, tmp_path):
    out = tmp_path / "release"
    dump_write(directory=out)
    voter = dataset["voter"]
    everything = b"".join(
        path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and "images" not in path.parts
    )
    for secret in (SECRET_NAME, SECRET_EMAIL, NETWORK, "198.51.100.0", VOTE_NETWORK):
        assert secret.encode() not in everything, secret
    assert not re.search(rb"[\w.+-]+@[\w-]+\.\w+", everything), "an e-mail address"
    assert not re.search(rb"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", everything), "an IP"
    for name in ("gold_answer", "gold_pool", "on_gold", "network", "user", "email", "token"):
        assert f'"{name}"'.encode() not in everything, name
    vote = records(out, "votes")[0]
    assert set(vote) == {
        "id",
        "image_label_id",
        "voter",
        "answer",
        "counted",
        "weight",
        "created_at",
    }
    assert vote["voter"] == pseudonym_of(voter.pk, key=pseudonym_key())
    assert str(voter.pk) != vote["voter"]
    # Hidden and pending images, and what hangs off them, stay out.
    image_ids = {image["id"] for image in records(out, "images")}
    assert str(dataset["hidden"].pk) not in image_ids
    assert str(dataset["pending"].pk) not in image_ids
    assert {r["image_id"] for r in records(out, "image_labels")} == image_ids


def test_pseudonyms_are_stable_across_releases_and_change_with_the_key(dataset, tmp_path, settings):
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    dump_write(directory=first)
    dump_write(directory=second)
    assert records(first, "votes") == records(second, "votes")
    assert records(first, "images") == records(second, "images")

    settings.DATASET_PSEUDONYM_KEY = "another server's secret"
    dump_write(directory=other)
    before, after = records(first, "votes")[0], records(other, "votes")[0]
    assert after["voter"] != before["voter"]
    assert {**after, "voter": None} == {**before, "voter": None}


# --- Incremental releases --------------------------------------------------------------------


def test_incremental_dump_holds_only_changes_and_lists_deletions(dataset, tmp_path):
    full = tmp_path / "full"
    dump_write(directory=full)
    added = ImageLabelFactory(label=dataset["dog"])
    changed = dataset["annotation"].image_label
    ImageLabel.objects.filter(pk=changed.pk).update(probability=0.42)
    Image.objects.filter(pk=dataset["gold"].image_id).update(status=ImageStatus.HIDDEN)

    since = tmp_path / "since"
    call_command("dataset_dump", str(since), "--since", str(full))

    manifest = orjson.loads((since / "manifest.json").read_bytes())
    assert manifest["since"] == orjson.loads((full / "manifest.json").read_bytes())["name"]
    assert [r["id"] for r in records(since, "images")] == [str(added.image_id)]
    assert sorted(r["id"] for r in records(since, "image_labels")) == sorted([added.pk, changed.pk])
    assert records(since, "votes") == []
    deletions = records(since, "deletions")
    assert {"table": "images", "id": str(dataset["gold"].image_id)} in deletions
    assert {"table": "image_labels", "id": dataset["gold"].pk} in deletions
    assert manifest["counts"]["deletions"] == len(deletions) == 2
    assert [p.name for p in (since / "images").rglob("*") if p.is_file()] == [
        Path(Image.objects.get(pk=added.image_id).file.name).name
    ]


def test_incremental_dump_since_an_incremental_release_is_refused(dataset, tmp_path):
    dump_write(directory=tmp_path / "full")
    call_command("dataset_dump", str(tmp_path / "inc"), "--since", str(tmp_path / "full"))
    with pytest.raises(CommandError, match="is an incremental release; --since names a full one"):
        call_command("dataset_dump", str(tmp_path / "inc2"), "--since", str(tmp_path / "inc"))


# --- Restore -----------------------------------------------------------------------------------


def test_round_trip_through_a_fresh_instance_gives_identical_data_files(
    dataset, tmp_path, isolated_media
):
    first, second = tmp_path / "first", tmp_path / "second"
    dump_write(directory=first)
    instance_empty(isolated_media)

    call_command("dataset_load", str(first))
    assert Image.objects.filter(status=ImageStatus.UNLOCKED).count() == 2
    dump_write(directory=second)

    assert data_files(second) == data_files(first)
    assert len(data_files(first)) == 2 * len(DATA_TABLES) + 2
    # The restored instance works as a site: labels are found by their words, the files and
    # previews are in storage under their names.
    assert LabelTerm.objects.get(term=term_normalise("doggo")).label.name == "dog"
    image = Image.objects.get(pk=dataset["image"].pk)
    assert image.label_count == 1 and image.thumbnail_small and image.thumbnail_large
    assert (isolated_media / image.file.name).is_file()
    assert (isolated_media / image.thumbnail_small.name).is_file()


def test_tampered_file_is_refused_naming_it_and_nothing_is_loaded(
    dataset, tmp_path, isolated_media
):
    out = tmp_path / "release"
    dump_write(directory=out)
    instance_empty(isolated_media)
    votes = out / "data/votes.jsonl"
    # The same length: only the checksum can tell.
    votes.write_bytes(votes.read_bytes().replace(b'"yes"', b'"yea"'))

    with pytest.raises(CommandError, match=r"data/votes.jsonl does not match its sha256"):
        call_command("dataset_load", str(out))
    assert row_counts() == dict.fromkeys(row_counts(), 0)
    assert list(isolated_media.rglob("*")) == []


def test_tampered_image_file_is_refused_naming_it(dataset, tmp_path, isolated_media):
    out = tmp_path / "release"
    dump_write(directory=out)
    instance_empty(isolated_media)
    image_file = next(path for path in (out / "images").rglob("*") if path.is_file())
    image_file.write_bytes(image_file.read_bytes()[:-1] + b"\x00")

    with pytest.raises(CommandError, match=f"{image_file.relative_to(out)} does not match"):
        call_command("dataset_load", str(out))
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_truncated_dump_is_refused_and_the_database_is_untouched(dataset, tmp_path):
    out = tmp_path / "release"
    dump_write(directory=out)
    before = row_counts()
    table = out / "data/annotation_revisions.jsonl"
    table.write_bytes(table.read_bytes()[:-30])
    (out / "data/quiz_answers.parquet").unlink()

    with pytest.raises(CommandError, match=r"data/annotation_revisions.jsonl is \d+ bytes"):
        call_command("dataset_load", str(out), "--force")
    assert row_counts() == before
    table.unlink()
    with pytest.raises(CommandError, match=r"data/annotation_revisions\.jsonl is missing"):
        call_command("dataset_load", str(out), "--force")
    assert row_counts() == before


def test_dump_without_manifest_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(CommandError, match=r"has no manifest\.json: it is not a release"):
        call_command("dataset_load", str(tmp_path))


def test_load_into_a_database_with_data_is_refused_without_force(dataset, tmp_path):
    out = tmp_path / "release"
    dump_write(directory=out)
    before = row_counts()
    with pytest.raises(CommandError, match=r"This database is not empty \(it holds 4 images"):
        call_command("dataset_load", str(out))
    assert row_counts() == before


def test_forced_load_only_adds_what_is_missing(dataset, tmp_path, isolated_media):
    out = tmp_path / "release"
    dump_write(directory=out)
    # What the instance lost since the release, and what it changed: the load brings back
    # the first and leaves the second as it is.
    revision = AnnotationRevision.objects.get(number=1)
    AnnotationRevision.objects.filter(pk=revision.pk).delete()
    dog_label = dataset["annotation"].image_label
    ImageLabel.objects.filter(pk=dog_label.pk).update(probability=0.42)
    kept = LabelFactory(name="kept here")
    before = row_counts()

    added = dump_load(directory=out, force=True)

    assert added == dict.fromkeys(DATA_TABLES, 0) | {"annotation_revisions": 1}
    assert row_counts() == before | {"annotation_revisions": before["annotation_revisions"] + 1}
    restored = AnnotationRevision.objects.get(pk=revision.pk)
    # Its author is the instance's own contributor, found again by the pseudonym.
    assert restored.author_id == dataset["author"].pk
    assert ImageLabel.objects.get(pk=dog_label.pk).probability == 0.42
    assert Label.objects.filter(pk=kept.pk).exists()


def test_forced_load_refuses_labels_that_disagree(dataset, tmp_path):
    out = tmp_path / "release"
    dump_write(directory=out)
    Label.objects.filter(name="tail").update(name="tail feather")
    before = row_counts()
    with pytest.raises(
        CommandError, match=r"Label \d+ is 'tail' in the release and 'tail feather'"
    ):
        call_command("dataset_load", str(out), "--force")
    assert row_counts() == before


def test_incremental_release_is_not_loaded(dataset, tmp_path, isolated_media):
    dump_write(directory=tmp_path / "full")
    call_command("dataset_dump", str(tmp_path / "inc"), "--since", str(tmp_path / "full"))
    instance_empty(isolated_media)
    with pytest.raises(CommandError, match="is an incremental release"):
        call_command("dataset_load", str(tmp_path / "inc"))
    assert row_counts() == dict.fromkeys(row_counts(), 0)


# --- Croissant ---------------------------------------------------------------------------------


def test_mlcroissant_loads_the_release_records(dataset, tmp_path):
    import mlcroissant as mlc

    out = tmp_path / "release"
    dump_write(directory=out)
    release = mlc.Dataset(jsonld=str(out / "croissant.json"))

    images = list(release.records(record_set="images"))
    assert sorted(record["images/id"].decode() for record in images) == sorted(
        r["id"] for r in records(out, "images")
    )
    votes = list(release.records(record_set="votes"))
    assert [record["votes/answer"].decode() for record in votes] == ["yes"]
    annotations = list(release.records(record_set="annotations"))
    assert orjson.loads(annotations[0]["annotations/shapes"])[0]["width"] == 0.6


# --- The releases page and the periodic task ---------------------------------------------------


def test_releases_page_says_how_a_release_is_made_when_there_is_none(client):
    response = client.get(reverse("dataset-releases"))
    assert response.status_code == 200
    assert b"No release has been made yet" in response.content
    assert b"dataset_dump --release" in response.content


def test_release_is_listed_with_counts_checksums_and_downloads(dataset, client):
    call_command("dataset_dump", "--release")
    release = DatasetRelease.objects.get()

    response = client.get(reverse("dataset-releases"))
    page = response.content.decode()
    assert release.name in page
    assert "image_labels: 2" in page
    manifest_entry = next(f for f in release.files if f["name"] == "data/votes.jsonl")
    assert manifest_entry["sha256"] in page
    download = client.get(
        reverse("dataset-releases"), {"download": f"{release.name}/data/votes.jsonl"}
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content).count(b"\n") == 1
    listed = {entry["name"] for entry in release.files}
    assert {"manifest.json", "SHA256SUMS", "croissant.json"} <= listed


def test_release_download_of_a_file_outside_the_release_is_not_found(dataset, client, settings):
    call_command("dataset_dump", "--release")
    release = DatasetRelease.objects.get()
    for reference in (
        f"{release.name}/../../secret_key",
        "nope/manifest.json",
        f"{release.name}/x",
    ):
        response = client.get(reverse("dataset-releases"), {"download": reference})
        assert response.status_code == 404, reference


def test_release_page_escapes_what_it_shows(client):
    DatasetRelease.objects.create(
        name="<script>x</script>", storage_prefix="releases/x", counts={"<b>": 1}, files=[]
    )
    page = client.get(reverse("dataset-releases")).content.decode()
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_periodic_task_makes_a_release_when_due_and_not_again_too_soon(dataset, settings):
    from datasets.tasks import make_release

    settings.DATASET_RELEASE_INTERVAL_HOURS = 0
    assert make_release.enqueue().return_value is None
    assert not DatasetRelease.objects.exists()

    settings.DATASET_RELEASE_INTERVAL_HOURS = 24
    first = make_release.enqueue().return_value
    assert DatasetRelease.objects.get().name == first
    assert make_release.enqueue().return_value is None  # the last one is too recent
    assert DatasetRelease.objects.count() == 1
    release = DatasetRelease.objects.get()
    assert release.counts["images"] == 2
    dump_verify(Path(settings.MEDIA_ROOT) / release.storage_prefix)


def test_release_checks_with_sha256sum(dataset, tmp_path):
    out = tmp_path / "release"
    dump_write(directory=out)
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],  # noqa: S607
        cwd=out,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 2 * len(DATA_TABLES) + 2 + 2  # + README, croissant


def test_load_failing_midway_leaves_no_rows_and_no_files(dataset, tmp_path, isolated_media):
    out = tmp_path / "release"
    dump_write(directory=out)
    instance_empty(isolated_media)
    # The manifest is not among the checksummed files; one that disagrees with the last table
    # is found only once everything before it was loaded (image files included).
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    manifest["tables"]["quiz_answers"]["records"] = 5
    (out / "manifest.json").write_bytes(orjson.dumps(manifest))

    with pytest.raises(
        CommandError, match=r"quiz_answers\.jsonl holds 1 records, the manifest says 5"
    ):
        call_command("dataset_load", str(out))
    assert row_counts() == dict.fromkeys(row_counts(), 0)
    assert [path for path in isolated_media.rglob("*") if path.is_file()] == []


def test_release_into_object_storage_copies_and_uploads_every_file(s3_bucket, dataset, client):
    from datasets.dumps.releases import release_make
    from tests.s3 import BUCKET

    release = release_make()

    keys = {item["Key"] for item in s3_bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    prefix = release.storage_prefix
    assert {f"{prefix}/manifest.json", f"{prefix}/SHA256SUMS", f"{prefix}/croissant.json"} <= keys
    stored = Image.objects.get(pk=dataset["image"].pk).file.name
    assert f"{prefix}/{stored}" in keys
    copied = s3_bucket.get_object(Bucket=BUCKET, Key=f"{prefix}/{stored}")["Body"].read()
    assert copied == s3_bucket.get_object(Bucket=BUCKET, Key=stored)["Body"].read()
    assert release.byte_size > len(copied)

    download = client.get(reverse("dataset-releases"), {"download": f"{release.name}/SHA256SUMS"})
    assert download.status_code == 302
    assert f"{prefix}/SHA256SUMS" in download["Location"]


def test_dump_into_a_folder_with_files_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not empty; a release is written into a new folder"):
        call_command("dataset_dump", str(out))
    assert [path.name for path in out.iterdir()] == ["notes.txt"]
