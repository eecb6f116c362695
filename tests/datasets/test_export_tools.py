"""Each format loaded by the tool it is made for, with every shape's pixels checked after the
round trip."""

import json

import numpy as np
import pytest

pytestmark = pytest.mark.django_db


def download(api_client, tmp_path, name, **params):
    response = api_client.get("/api/exports/", params)
    assert response.status_code == 200, response.content[:300]
    path = tmp_path / name
    path.write_bytes(b"".join(response.streaming_content))
    return path


def test_coco_export_loads_in_pycocotools_with_pixel_boxes_polygons_and_negatives(
    api_client, tmp_path, outlined_dog
):
    from pycocotools.coco import COCO

    path = download(api_client, tmp_path, "instances.json", format="coco", query="animal")
    coco = COCO(str(path))

    categories = {c["name"]: c for c in coco.loadCats(coco.getCatIds())}
    assert categories["dog"]["supercategory"] == "animal"
    (image,) = [i for i in coco.dataset["images"] if i["imagemonkey_id"] == outlined_dog["image"]]
    assert (image["width"], image["height"]) == (160, 120)
    annotations = coco.loadAnns(
        coco.getAnnIds(imgIds=[image["id"]], catIds=[categories["dog"]["id"]])
    )
    assert [a["bbox"] for a in annotations] == [
        pytest.approx([16, 24, 80, 30]),
        pytest.approx([40, 30, 80, 60]),
        pytest.approx([16, 12, 48, 36]),
    ]
    assert all(a["iscrowd"] == 0 for a in annotations)
    assert annotations[0]["area"] == pytest.approx(80 * 30)
    assert annotations[1]["area"] == pytest.approx(np.pi * 40 * 30, rel=1e-3)
    triangle = coco.annToMask(annotations[2])
    assert triangle.shape == (120, 160)
    assert triangle.sum() == pytest.approx(864, rel=0.1)
    assert triangle[20, 60] == 1 and triangle[45, 20] == 0  # inside / outside the triangle
    (no_cat,) = [i for i in coco.dataset["images"] if i["imagemonkey_id"] == outlined_dog["no_cat"]]
    assert no_cat["neg_category_ids"] == [categories["cat"]["id"]]
    assert coco.getAnnIds(imgIds=[no_cat["id"]]) == []
    assert json.loads(path.read_text())["licenses"][0]["name"] == "CC0 1.0"


def test_parquet_tables_load_in_duckdb_and_pyarrow_with_pixel_boxes(
    api_client, tmp_path, outlined_dog
):
    import duckdb
    import pyarrow.parquet as pq

    tables = {
        table: download(api_client, tmp_path, f"{table}.parquet", format="parquet", table=table)
        for table in ("images", "labels", "shapes")
    }

    images = pq.read_table(tables["images"])
    assert images.schema.metadata[b"license"] == b"CC0-1.0"
    assert sorted(images.column("image_id").to_pylist()) == sorted(
        [outlined_dog["image"], outlined_dog["no_cat"]]
    )
    boxes = duckdb.execute(
        "SELECT type, xmin_px, ymin_px, xmax_px, ymax_px FROM read_parquet(?) ORDER BY shape_index",
        [str(tables["shapes"])],
    ).fetchall()
    assert [b[0] for b in boxes] == ["rect", "ellipse", "polygon"]
    assert [b[1:] for b in boxes] == [
        pytest.approx((16, 24, 96, 54)),
        pytest.approx((40, 30, 120, 90)),
        pytest.approx((16, 12, 64, 48)),
    ]
    joined = duckdb.execute(
        "SELECT l.label, l.positive, i.width FROM read_parquet(?) l "
        "JOIN read_parquet(?) i USING (image_id) ORDER BY l.label",
        [str(tables["labels"]), str(tables["images"])],
    ).fetchall()
    assert joined == [("cat", False, 160), ("dog", True, 160)]


def test_parquet_table_is_only_for_parquet(api_client):
    response = api_client.get("/api/exports/", {"format": "json", "table": "shapes"})

    assert (response.status_code, response.json()["code"]) == (400, "invalid_table")
