from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from annotations.models import Annotation
from datasets.models import LabelStatistics, StatisticsSnapshot
from datasets.statistics.figures import (
    label_graph,
    labels_needing_help,
    statistics_series,
    statistics_totals,
)
from datasets.statistics.refresh import statistics_refresh
from donations.models import Image, ImageStatus
from labels_app.models import Answer, ImageLabel, ImageLabelState, LabelKind
from tests.factories import (
    AnnotationTaskFactory,
    ContributorFactory,
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    VoterFactory,
)
from tests.served import serve
from validations.services import vote_cast

pytestmark = pytest.mark.django_db


def vote(image_label, *, voter=None):
    """A yes through the real service: counted for a voter past training (the default), stored
    but not counted for a trainee."""
    voter = voter or VoterFactory()
    serve(voter, image_label)
    vote_cast(contributor=voter, image_label_id=image_label.pk, answer=Answer.YES)


def outline(image_label, *, hidden=False, when=None):
    return Annotation.objects.create(
        image_label=image_label,
        shapes=[{"type": "rect", "x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}],
        author=ContributorFactory(),
        hidden=hidden,
        **({"created_at": when} if when else {}),
    )


def utc_today():
    return datetime.now(UTC).date()


@pytest.fixture
def mixed_dataset():
    """One public image with a label, two votes (one not counted) and an outline; beside it a
    hidden and a pending image with labels and votes, a withdrawn label and a hidden outline,
    none of which may count publicly."""
    dog = LabelFactory(name="dog")
    cat = LabelFactory(name="cat")
    public = ImageLabelFactory(label=dog, state=ImageLabelState.CONFIRMED)
    vote(public)
    vote(public, voter=ContributorFactory())  # a trainee's: stored, not counted
    outline(public)
    withdrawn = ImageLabelFactory(image=public.image, label=cat)
    vote(withdrawn)
    outline(withdrawn)
    ImageLabel.objects.filter(pk=withdrawn.pk).update(withdrawn=True)
    for status in (ImageStatus.HIDDEN, ImageStatus.PENDING):
        elsewhere = ImageLabelFactory(label=dog)
        vote(elsewhere)
        outline(elsewhere)
        Image.objects.filter(pk=elsewhere.image_id).update(status=status)
    second = ImageLabelFactory(label=cat)
    outline(second, hidden=True)
    return {"public": public, "second": second}


def test_totals_count_only_public_images_and_what_is_on_them(mixed_dataset):
    statistics_refresh()

    totals = statistics_totals()

    assert {name: value for name, value in totals.items() if name != "refreshed"} == {
        "images": 2,
        "image_labels": 2,
        "votes": 1,
        "annotations": 1,
        # The two donors, the two labellers, the dog's counted voter and its outliner: six
        # people with public contributions.
        "contributors": 6,
        "labels": 2,
    }


def test_series_counts_each_utc_day_and_fills_days_without_activity_with_zeros():
    label = LabelFactory(name="dog")
    three_days_ago = timezone.now() - timedelta(days=3)
    old = ImageLabelFactory(
        image=ImageFactory(status=ImageStatus.UNLOCKED, created_at=three_days_ago),
        label=label,
        created_at=three_days_ago,
    )
    today_label = ImageLabelFactory(label=label)
    voter = VoterFactory()
    vote(today_label, voter=voter)
    vote(old, voter=voter)  # today too: one active contributor, two votes
    outline(today_label, when=three_days_ago + timedelta(minutes=5))
    ImageFactory(status=ImageStatus.HIDDEN)  # donated today, not public
    statistics_refresh()

    series = statistics_series(days=5)

    today = utc_today()
    assert [day["day"] for day in series] == [today - timedelta(days=n) for n in range(4, -1, -1)]
    assert [day["donations"] for day in series] == [0, 1, 0, 0, 1]
    assert [day["labels"] for day in series] == [0, 1, 0, 0, 1]
    assert [day["votes"] for day in series] == [0, 0, 0, 0, 2]
    assert [day["annotations"] for day in series] == [0, 1, 0, 0, 0]
    # Three days ago: the old image's donor, its labeller and the outliner. Today: the new
    # image's donor and labeller, and the voter (once for both votes).
    assert [day["contributors"] for day in series] == [0, 3, 0, 0, 3]


def test_label_counts_give_each_column_on_public_images_only():
    dog = LabelFactory(name="dog")
    ImageLabelFactory(label=dog, state=ImageLabelState.CONFIRMED)
    AnnotationTaskFactory(label=dog)  # confirmed, waiting for an outline
    outline(AnnotationTaskFactory(label=dog, needs_annotation=False))
    ImageLabelFactory(label=dog, state=ImageLabelState.REJECTED)
    ImageLabelFactory(label=dog)
    ImageLabelFactory(label=dog)
    ImageLabelFactory(label=dog, image=ImageFactory(status=ImageStatus.HIDDEN))
    statistics_refresh()

    row = LabelStatistics.objects.get(label=dog)

    assert (row.images, row.confirmed, row.rejected, row.open, row.annotated) == (6, 3, 1, 2, 1)
    assert (row.unannotated, row.waiting) == (1, 3)


def test_labels_needing_help_put_the_most_waiting_work_first():
    busy, calm, done = (
        LabelFactory(name="busy"),
        LabelFactory(name="calm"),
        LabelFactory(name="done"),
    )
    for _ in range(3):
        ImageLabelFactory(label=busy)
    AnnotationTaskFactory(label=busy)
    ImageLabelFactory(label=calm)
    for _ in range(5):
        ImageLabelFactory(label=done, state=ImageLabelState.REJECTED)
    statistics_refresh()

    wanted = labels_needing_help()

    assert [(w.name, w.open, w.unannotated) for w in wanted] == [("busy", 3, 1), ("calm", 1, 0)]


def test_help_section_links_to_the_task_pages_filtered_for_the_label(client):
    ImageLabelFactory(label=LabelFactory(name="traffic light"))
    AnnotationTaskFactory(label=LabelFactory(name="wheel"))
    statistics_refresh()

    html = client.get(reverse("statistics")).content.decode()

    assert f'href="{reverse("validate")}?label=traffic%20light"' in html
    assert f'href="{reverse("validate-grid")}?label=traffic%20light"' in html
    assert f'href="{reverse("annotate")}?label=wheel"' in html
    # Nothing to outline for the traffic light, nothing to validate for the wheel.
    assert f'href="{reverse("annotate")}?label=traffic%20light"' not in html
    assert f'href="{reverse("validate")}?label=wheel"' not in html


def _table_labels(response) -> list[str]:
    html = response.content.decode()
    table = html[html.index('id="label-table"') :]
    return [part.split('"', 1)[0] for part in table.split('<tr data-label="')[1:]]


@pytest.fixture
def three_labels():
    for name, count in (("dog", 3), ("cat", 1), ("donkey", 2)):
        label = LabelFactory(name=name)
        for _ in range(count):
            ImageLabelFactory(label=label)
    statistics_refresh()


def test_label_table_sorts_by_the_chosen_column_without_javascript(client, three_labels):
    url = reverse("statistics")

    assert _table_labels(client.get(url)) == ["dog", "donkey", "cat"]  # most images first
    assert _table_labels(client.get(url, {"sort": "images"})) == ["cat", "donkey", "dog"]
    assert _table_labels(client.get(url, {"sort": "name"})) == ["cat", "dog", "donkey"]
    assert _table_labels(client.get(url, {"sort": "-name"})) == ["donkey", "dog", "cat"]


def test_label_table_headers_link_to_the_reverse_order_of_the_current_sort(client, three_labels):
    html = client.get(reverse("statistics"), {"sort": "-images", "q": "do"}).content.decode()

    assert 'aria-sort="descending"' in html
    assert 'href="?sort=images&amp;q=do#labels"' in html
    assert 'href="?sort=name&amp;q=do#labels"' in html


def test_label_table_search_keeps_labels_whose_name_contains_the_text(client, three_labels):
    response = client.get(reverse("statistics"), {"q": "DO"})

    assert _table_labels(response) == ["dog", "donkey"]
    empty = client.get(reverse("statistics"), {"q": "zebra"}).content.decode()
    assert "No label contains “zebra”" in empty


def test_label_table_is_paginated(client):
    for index in range(55):
        ImageLabelFactory(label=LabelFactory(name=f"label {index:02}"))
    statistics_refresh()

    first = client.get(reverse("statistics"), {"sort": "name"})
    second = client.get(reverse("statistics"), {"sort": "name", "page": "2"})

    assert len(_table_labels(first)) == 50
    assert _table_labels(second) == [f"label {index}" for index in range(50, 55)]
    assert 'href="?sort=name&amp;page=2#labels"' in first.content.decode()


def test_page_with_bad_parameters_names_the_problem(client):
    response = client.get(reverse("statistics"), {"sort": "size"})

    assert response.status_code == 400
    assert "sort must be one of" in response.content.decode()


def test_empty_dataset_says_what_to_do_next(client):
    html = client.get(reverse("statistics")).content.decode()

    assert "No donations yet" in html
    assert f'href="{reverse("donate")}"' in html
    assert "No label is on a public image yet" in html


def test_page_shows_the_totals_and_a_chart_per_series(client, mixed_dataset):
    html = client.get(reverse("statistics"), {"days": "7"}).content.decode()

    assert '<span class="total-number" data-total="images">2</span>' in html
    for name in ("donations", "labels", "votes", "annotations", "contributors"):
        assert f'id="chart-{name}"' in html
    assert 'role="img" aria-labelledby="chart-votes-title chart-votes-desc"' in html
    assert html.count('<rect class="chart-bar"') == 5  # every series has today's bar only


def test_page_uses_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    for index in range(60):
        label = LabelFactory(name=f"label {index:02}")
        ImageLabelFactory(label=label)
    statistics_refresh()
    cache.clear()

    # Cold cache: snapshot, days, labels needing help, table count and page; warm: the table.
    with django_assert_max_num_queries(5):
        assert client.get(reverse("statistics")).status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get(reverse("statistics")).status_code == 200
    cache.clear()
    # Cold: snapshot, labels, their figures, their parts.
    with django_assert_max_num_queries(4):
        assert client.get(reverse("statistics-label-graph")).status_code == 200


def test_cached_figures_last_until_a_refresh_commits(django_capture_on_commit_callbacks):
    ImageLabelFactory()
    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()
    assert statistics_totals()["images"] == 1

    ImageLabelFactory()
    assert statistics_totals()["images"] == 1  # within the refresh period: the snapshot

    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()
    assert statistics_totals()["images"] == 2


def test_a_stale_snapshot_is_recounted_on_the_next_read(client, settings):
    ImageLabelFactory()
    statistics_refresh()
    ImageLabelFactory()
    StatisticsSnapshot.objects.update(
        refreshed_at=timezone.now() - timedelta(seconds=settings.STATISTICS_REFRESH_SECONDS + 1)
    )
    cache.clear()

    html = client.get(reverse("statistics")).content.decode()

    assert '<span class="total-number" data-total="images">2</span>' in html
    assert StatisticsSnapshot.objects.get().refreshed_at > timezone.now() - timedelta(minutes=1)


def test_a_recount_is_asked_for_once_per_refresh_period(settings):
    ImageLabelFactory()
    statistics_refresh()
    stale = timezone.now() - timedelta(seconds=settings.STATISTICS_REFRESH_SECONDS + 1)
    StatisticsSnapshot.objects.update(refreshed_at=stale)
    cache.clear()
    statistics_totals()  # asks, and the immediate backend recounts
    StatisticsSnapshot.objects.update(refreshed_at=stale)
    ImageLabelFactory()
    cache.delete("statistics:totals")

    assert statistics_totals()["images"] == 1  # already asked within the period


def test_label_graph_lists_children_under_their_parent_with_parts():
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name="dog", parent=animal)
    LabelFactory(name="puppy", parent=dog)
    tail = LabelFactory(name="tail")
    dog.parts.add(tail)
    LabelFactory(name="red", kind=LabelKind.REFINEMENT)
    ImageLabelFactory(label=dog)
    statistics_refresh()

    rows, ancestors = label_graph()

    assert [(row.node.name, row.depth) for row in rows] == [
        ("animal", 0),
        ("dog", 1),
        ("puppy", 2),
        ("tail", 0),
    ]
    assert [len(row.closes) for row in rows] == [0, 0, 2, 0]
    dog_row = rows[1]
    assert (dog_row.node.parts, dog_row.node.images, dog_row.opens) == (["tail"], 1, True)
    assert rows[3].node.part_of == ["dog"]
    assert ancestors == []


def test_label_graph_page_shows_a_subtree_with_its_ancestors(client):
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name="dog", parent=animal)
    LabelFactory(name="puppy", parent=dog)
    LabelFactory(name="cat", parent=animal)

    response = client.get(reverse("statistics-label-graph"), {"root": "dog"})

    html = response.content.decode()
    tree = html[html.index('id="label-tree"') :]
    assert [part.split('"', 1)[0] for part in tree.split('data-label="')[1:]] == ["dog", "puppy"]
    assert '<a href="?root=animal">animal</a>' in html
    assert f'href="{reverse("gallery")}?q=%27puppy%27"' in html
    missing = client.get(reverse("statistics-label-graph"), {"root": "unicorn"})
    assert missing.status_code == 404
    assert "There is no label named &#x27;unicorn&#x27;" in missing.content.decode()


def test_label_graph_page_nests_lists_that_all_close(client):
    animal = LabelFactory(name="animal")
    dog = LabelFactory(name="dog", parent=animal)
    LabelFactory(name="puppy", parent=dog)
    LabelFactory(name="tree")

    html = client.get(reverse("statistics-label-graph")).content.decode()

    tree = html[html.index('<ul class="label-tree"') : html.index("</section>")]
    assert tree.count("<ul") == tree.count("</ul>") == 3
    assert tree.count("<li") == tree.count("</li>") == 4


def test_a_refresh_recounts_the_last_days_and_every_day_once_per_full_recount_period(
    settings, django_capture_on_commit_callbacks
):
    ten_days_ago = timezone.now() - timedelta(days=10)
    old = ImageFactory(status=ImageStatus.UNLOCKED, created_at=ten_days_ago)
    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()  # the first refresh counts every day
    Image.objects.filter(pk=old.pk).update(status=ImageStatus.HIDDEN)
    ImageFactory(status=ImageStatus.UNLOCKED)

    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()

    snapshot = StatisticsSnapshot.objects.get()
    series = statistics_series(days=11)
    assert snapshot.images == 1  # the totals are exact at every refresh
    assert series[-1]["donations"] == 1  # today is recounted
    assert series[0]["donations"] == 1  # ten days ago waits for the full recount
    StatisticsSnapshot.objects.update(
        full_recount_at=timezone.now()
        - timedelta(seconds=settings.STATISTICS_FULL_RECOUNT_SECONDS + 1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()

    assert statistics_series(days=11)[0]["donations"] == 0
    assert StatisticsSnapshot.objects.get().full_recount_at > snapshot.full_recount_at


def test_label_graph_keeps_its_cached_tree_until_the_next_refresh(
    client, django_capture_on_commit_callbacks
):
    dog = LabelFactory(name="dog")
    ImageLabelFactory(label=dog)
    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()
    url = reverse("statistics-label-graph")
    assert ">1 image</a>" in client.get(url).content.decode()
    ImageLabelFactory(label=dog)

    with django_capture_on_commit_callbacks(execute=True):
        LabelStatistics.objects.filter(label=dog).update(images=5)  # not a refresh
    assert ">1 image</a>" in client.get(url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        statistics_refresh()
    assert ">2 images</a>" in client.get(url).content.decode()
