"""The release described in Croissant (MLCommons' metadata format for ML datasets), so that
dataset catalogues and loaders (`mlcroissant`, Hugging Face, TFDS…) read it without code of
ours: a FileObject per Parquet table, a RecordSet per table with a Field per column."""

from __future__ import annotations

from .tables import KINDS, TABLES

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
LICENSE_URL = "https://creativecommons.org/publicdomain/zero/1.0/"


def croissant_metadata(manifest: dict, *, files: list[dict], base_url: str = "") -> dict:
    """The Croissant JSON-LD of a release whose data `files` (name, bytes, sha256) are
    written."""
    by_name = {entry["name"]: entry for entry in files}
    distribution = []
    record_sets = []
    for table in TABLES:
        name = f"data/{table.name}.parquet"
        entry = by_name[name]
        file_id = f"{table.name}.parquet"
        distribution.append(
            {
                "@type": "cr:FileObject",
                "@id": file_id,
                "name": file_id,
                "description": f"The {table.name} table as Parquet.",
                "contentUrl": name,
                "contentSize": f"{entry['bytes']} B",
                "encodingFormat": "application/x-parquet",
                "sha256": entry["sha256"],
            }
        )
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": table.name,
                "name": table.name,
                "description": table.description,
                "key": {"@id": f"{table.name}/id"},
                "field": [
                    {
                        "@type": "cr:Field",
                        "@id": f"{table.name}/{column.name}",
                        "name": column.name,
                        "description": column.description,
                        "dataType": KINDS[column.kind][1],
                        **({"repeated": True} if column.repeated else {}),
                        "source": {
                            "fileObject": {"@id": file_id},
                            "extract": {"column": column.name},
                        },
                    }
                    for column in table.columns
                ],
            }
        )
    if manifest["counts"].get("image_files"):
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": "image-files",
                "name": "image-files",
                "description": "The image files as stored (JPEG, PNG or WebP, no metadata); "
                "images.file is each one's path.",
                "encodingFormat": "image/jpeg",
                "includes": "images/**/*",
            }
        )
    since = f" (changes since {manifest['since']})" if manifest["since"] else ""
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": manifest["name"],
        "description": "ImageMonkey: a public image dataset built by its community — photos, "
        "the labels on them with the crowd's consensus, outlines, reviews and refinements"
        f"{since}.",
        "license": LICENSE_URL,
        "url": base_url or "https://imagemonkey.io/",
        "version": f"{manifest['schema_version']}.0.0",
        "datePublished": manifest["created_at"][:10],
        "citeAs": "ImageMonkey contributors, ImageMonkey dataset release " + manifest["name"],
        "distribution": distribution,
        "recordSet": record_sets,
    }
