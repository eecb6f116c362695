"""The query language: what each operator, accessor and attribute matches, and every kind of
mistake answered with a message that says what and where."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from core.errors import DomainError
from datasets.query.compiler import compile_query
from donations.models import Image, ImageStatus
from labels_app.models import ImageLabelState, LabelTerm, TermKind
from tests.factories import (
    ImageFactory,
    ImageLabelFactory,
    LabelFactory,
    RefinementFactory,
    submitted_annotation,
)

pytestmark = pytest.mark.django_db

CONFIRMED = ImageLabelState.CONFIRMED


@pytest.fixture
def catalog():
    animal = LabelFactory(name="animal")
    mammal = LabelFactory(name="mammal", parent=animal)
    labels = {
        "animal": animal,
        "mammal": mammal,
        "dog": LabelFactory(name="dog", parent=mammal),
        "cat": LabelFactory(name="cat", parent=mammal),
        "car": LabelFactory(name="car"),
        "wheel": LabelFactory(name="wheel"),
        "traffic light": LabelFactory(name="traffic light"),
        "colour": RefinementFactory(name="colour", values=["red", "blue"]),
    }
    labels["car"].parts.add(labels["wheel"])
    LabelTerm.objects.create(
        term="color", label=labels["colour"], display="color", kind=TermKind.ALIAS
    )
    LabelTerm.objects.create(
        term="puppy", label=labels["dog"], display="puppy", kind=TermKind.ALIAS
    )
    return labels


def image_with(*names, catalog, state=CONFIRMED, probability=0.99):
    image = ImageFactory(status=ImageStatus.UNLOCKED)
    for name in names:
        ImageLabelFactory(image=image, label=catalog[name], state=state, probability=probability)
    return image


def matching(query, **options) -> set:
    compiled = compile_query(query, **options)
    return set(Image.objects.public().filter(compiled.images).values_list("pk", flat=True))


def refusal(query) -> DomainError:
    with pytest.raises(DomainError) as caught:
        compile_query(query)
    return caught.value


def test_a_label_matches_images_where_it_is_confirmed_not_merely_claimed(catalog):
    dog = image_with("dog", catalog=catalog)
    image_with("dog", catalog=catalog, state=ImageLabelState.OPEN, probability=0.6)
    image_with("dog", catalog=catalog, state=ImageLabelState.REJECTED, probability=0.01)
    ImageLabelFactory(image=ImageFactory(status=ImageStatus.PENDING), label=catalog["dog"])

    assert matching("dog") == {dog.pk}


def test_and_or_not_and_parentheses_with_not_above_and_above_or(catalog):
    dog = image_with("dog", catalog=catalog)
    cat = image_with("cat", catalog=catalog)
    both = image_with("dog", "cat", catalog=catalog)
    car = image_with("car", catalog=catalog)

    assert matching("dog & cat") == {both.pk}
    assert matching("dog | cat") == {dog.pk, cat.pk, both.pk}
    assert matching("~dog") == {cat.pk, car.pk}
    assert matching("dog & ~cat") == {dog.pk}
    # & binds tighter than |, ~ tighter than &.
    assert matching("car | dog & ~cat") == {car.pk, dog.pk}
    assert matching("(car | dog) & ~cat") == {car.pk, dog.pk}
    assert matching("~(dog | cat)") == {car.pk}
    assert matching("~dog & ~cat") == {car.pk}


def test_a_parent_matches_its_descendants_and_equals_sign_only_the_label_itself(catalog):
    dog = image_with("dog", catalog=catalog)
    cat = image_with("cat", catalog=catalog)
    animal = image_with("animal", catalog=catalog)
    image_with("car", catalog=catalog)

    assert matching("animal") == {dog.pk, cat.pk, animal.pk}
    assert matching("mammal") == {dog.pk, cat.pk}
    assert matching("=animal") == {animal.pk}
    assert matching("=mammal") == set()


def test_plurals_aliases_any_case_and_quoted_names_mean_the_catalog_label(catalog):
    dog = image_with("dog", catalog=catalog)
    light = image_with("traffic light", catalog=catalog)

    for query in ("dogs", "puppy", "Dog", "'dog'", '"dogs"'):
        assert matching(query) == {dog.pk}, query
    assert matching("traffic light") == {light.pk}
    assert matching("'traffic light' | dog") == {light.pk, dog.pk}
    assert matching("traffic_light") == {light.pk}


def test_has_accessor_needs_the_object_and_its_part(catalog):
    with_wheel = image_with("car", "wheel", catalog=catalog)
    image_with("car", catalog=catalog)
    image_with("wheel", catalog=catalog)

    assert matching("car.has='wheel'") == {with_wheel.pk}
    assert matching("car.has = 'wheels'") == {with_wheel.pk}


def test_refinement_accessor_matches_values_on_the_shapes_in_either_spelling(catalog):
    red_car = submitted_annotation(
        label=catalog["car"],
        shapes=[
            {
                "type": "rect",
                "x": 0.1,
                "y": 0.1,
                "width": 0.5,
                "height": 0.5,
                "refinements": {"colour": "red"},
            }
        ],
    )
    submitted_annotation(
        label=catalog["car"],
        shapes=[
            {
                "type": "rect",
                "x": 0.1,
                "y": 0.1,
                "width": 0.5,
                "height": 0.5,
                "refinements": {"colour": "blue"},
            }
        ],
    )
    red = red_car.image_label.image_id

    assert matching("car.colour='red'") == {red}
    assert matching("car.color = 'red'") == {red}
    assert matching("car & ~car.colour='red'") == {red_car.image_label.image_id} ^ matching("car")


def test_size_attributes_compare_pixels(catalog):
    wide = image_with("dog", catalog=catalog)
    small = image_with("dog", catalog=catalog)
    Image.objects.filter(pk=wide.pk).update(width=1600, height=900)

    assert matching("image.width > 800px") == {wide.pk}
    assert matching("image.width <= 800px & dog") == {small.pk}
    assert matching("image.height >= 900px") == {wide.pk}
    assert matching("image.height = 120px") == {small.pk}
    assert matching("image.width < 161px") == {small.pk}


def test_count_attributes_count_facts_outlines_and_open_outline_tasks(catalog):
    two = image_with("dog", "cat", catalog=catalog)
    one = image_with("car", catalog=catalog)
    outlined = submitted_annotation(
        label=catalog["car"],
        shapes=[{"type": "rect", "x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}],
    ).image_label
    task = ImageLabelFactory(label=catalog["dog"], state=CONFIRMED, needs_annotation=True)

    assert matching("image.num_labels >= 2") == {two.pk}
    assert matching("image.num_labels = 1") == {one.pk, outlined.image_id, task.image_id}
    assert matching("image.num_annotations = 1") == {outlined.image_id}
    assert matching("image.num_annotations < 1 & car") == {one.pk}
    assert matching("image.num_open_annotation_tasks > 0") == {task.image_id}


def test_unlabeled_and_donated_attributes(catalog):
    labelled = image_with("dog", catalog=catalog)
    bare = ImageFactory(status=ImageStatus.UNLOCKED)
    Image.objects.filter(pk=labelled.pk).update(created_at=timezone.now() - timedelta(days=400))
    last_year = (timezone.now() - timedelta(days=200)).date().isoformat()

    assert matching("image.unlabeled = 'true'") == {bare.pk}
    assert matching("image.unlabeled='false'") == {labelled.pk}
    assert matching(f"image.donated > {last_year}") == {bare.pk}
    assert matching(f"image.donated < {last_year}") == {labelled.pk}


def test_donated_compares_the_day_in_the_site_time_zone_up_to_its_last_microsecond(catalog):
    berlin = ZoneInfo("Europe/Berlin")
    late = ImageFactory(status=ImageStatus.UNLOCKED)
    early = ImageFactory(status=ImageStatus.UNLOCKED)
    Image.objects.filter(pk=late.pk).update(
        created_at=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=berlin)
    )
    Image.objects.filter(pk=early.pk).update(created_at=datetime(2026, 3, 2, tzinfo=berlin))

    with timezone.override(berlin):
        assert matching("image.donated = 2026-03-01") == {late.pk}
        assert matching("image.donated = 2026-03-02") == {early.pk}
        assert matching("image.donated > 2026-03-01") == {early.pk}
        assert matching("image.donated >= 2026-03-02") == {early.pk}
        assert matching("image.donated < 2026-03-02") == {late.pk}
        assert matching("image.donated <= 2026-03-01") == {late.pk}
    # Midnight in Berlin is 23:00 the day before in UTC, the site's time zone.
    assert matching("image.donated = 2026-03-01") == {late.pk, early.pk}
    assert matching("image.donated > 2026-03-01") == set()


def test_coverage_is_the_share_outlined_for_the_labels_the_query_names(catalog):
    big = submitted_annotation(
        label=catalog["car"],
        shapes=[{"type": "rect", "x": 0, "y": 0, "width": 0.5, "height": 0.5}],
    ).image_label
    small = submitted_annotation(
        label=catalog["car"],
        shapes=[{"type": "rect", "x": 0, "y": 0, "width": 0.1, "height": 0.1}],
    ).image_label
    # A big dog outline on the small car's image does not count for `car`.
    ImageLabelFactory(image=small.image, label=catalog["dog"], state=CONFIRMED)
    submitted_annotation(
        label=catalog["dog"],
        shapes=[{"type": "rect", "x": 0, "y": 0, "width": 0.9, "height": 0.9}],
    )

    bare = image_with("car", catalog=catalog)  # no outline: it covers 0%

    assert matching("car & annotation.coverage > 10%") == {big.image_id}
    assert matching("car & annotation.coverage <= 10%") == {small.image_id, bare.pk}
    assert matching("car & annotation.coverage = 0%") == {bare.pk}
    assert big.image_id in matching("annotation.coverage >= 25%")


def test_order_by_validation_and_a_seeded_random_order(catalog):
    sure = image_with("dog", catalog=catalog, probability=0.999)
    less = image_with("dog", catalog=catalog, probability=0.95)
    images = [sure, less, *(image_with("dog", catalog=catalog) for _ in range(6))]

    def ordered(query, **options):
        compiled = compile_query(query, **options)
        rows = Image.objects.public().filter(compiled.images).order_by(*compiled.order_by)
        return list(rows.values_list("pk", flat=True))

    assert ordered("dog order by validation desc")[0] == sure.pk
    assert ordered("dog ! order by validation asc")[0] == less.pk
    first = ordered("dog order by random", seed=1)
    assert first == ordered("dog order by random", seed=1)
    assert sorted(first) == sorted(image.pk for image in images)
    assert any(ordered("dog order by random", seed=s) != first for s in (2, 3, 4))


@pytest.mark.parametrize(
    ("query", "code", "says"),
    [
        ("dog & & cat", "invalid_query", "Unexpected '&': expected a label"),
        ("(dog | cat", "invalid_query", "ends too early: expected ')'"),
        ("dog | cat)", "invalid_query", "Unexpected ')'"),
        ("dog &", "invalid_query", "ends too early"),
        ("dgo", "invalid_query", "Unknown label 'dgo'; did you mean 'dog'"),
        ("image.size > 3", "invalid_query", "Unknown attribute 'image.size'; known attributes"),
        ("image.width > 800pt", "invalid_query", "the unit 'pt' does not fit; write 800px"),
        ("image.width > 800", "invalid_query", "a unit is missing; write 800px"),
        ("image.width > 'big'", "invalid_query", "compare it with a number"),
        ("image.num_labels > 2.5", "invalid_query", "counts whole numbers"),
        ("annotation.coverage > 150%", "invalid_query", "at most 100%"),
        ("image.unlabeled = 'yes'", "invalid_query", "either 'true' or 'false'"),
        ("image.donated > 2026-13-45", "invalid_query", "is not a date"),
        ("image.donated <= 9999-12-31", "invalid_query", "is not a date"),
        ("image.collection = 'mine'", "invalid_query", "no image collections"),
        ("car.has = 'dog'", "invalid_query", "'dog' is not a part of car"),
        ("car.colour = 'plaid'", "invalid_query", "'plaid' is not a colour; use one of red"),
        ("car.size = 'big'", "invalid_query", "'size' is neither 'has' nor a refinement"),
        ("car.colour > 'red'", "invalid_query", "takes a quoted value after '='"),
        ("t-shirt", "invalid_query", "'-' cannot be read here"),
        ("a1b2c3d4-aaaa-bbbb-cccc-123456789012", "invalid_query", "image id is not a query term"),
        ("   ", "invalid_query", "The query is empty"),
        ("dog | " * 400 + "dog", "query_too_long", "at most 2,000 are accepted"),
        ("(" * 33 + "dog" + ")" * 33, "query_too_deep", "at most 32 are accepted"),
        ("~" * 40 + "dog", "query_too_deep", "at most 32 are accepted"),
    ],
)
def test_each_kind_of_mistake_is_named(catalog, query, code, says):
    error = refusal(query)

    assert (error.code, error.status) == (code, 400)
    assert says in error.message


def test_a_mistake_points_at_its_column_with_a_caret_line(catalog):
    error = refusal("dog & & cat")

    assert error.extra["column"] == 7
    assert error.message.endswith("(column 7):\ndog & & cat\n      ^")


def test_an_unchanged_catalog_is_read_with_one_query(catalog, django_assert_num_queries):
    compile_query("dog")

    with django_assert_num_queries(1):
        compile_query("dog | cat & ~car")


def test_the_kept_catalog_follows_labels_added_moved_and_given_an_alias(catalog):
    compile_query("dog")
    assert "Unknown label 'zebra'" in refusal("zebra").message

    catalog["zebra"] = LabelFactory(name="zebra")
    striped = image_with("zebra", catalog=catalog)
    assert matching("zebra") == {striped.pk}
    assert matching("mammal") == set()

    catalog["zebra"].parent = catalog["mammal"]
    catalog["zebra"].save(update_fields=["parent"])
    assert matching("mammal") == {striped.pk}

    LabelTerm.objects.create(
        term="stripes", label=catalog["zebra"], display="stripes", kind=TermKind.ALIAS
    )
    assert matching("stripes") == {striped.pk}


def test_a_long_flat_query_is_not_too_deep(catalog):
    dog = image_with("dog", catalog=catalog)

    assert matching(" | ".join(["cat"] * 300 + ["dog"])) == {dog.pk}
