"""The ingest pipeline's rules, tested on the pure function without database or storage."""

import io

import pytest
from PIL import Image

from core.errors import DomainError
from donations.ingest import image_process, phash_bands, phash_distance, sniff_format
from tests import image_files

LIMITS = {
    "max_bytes": 5 * 1024 * 1024,
    "max_pixels": 40_000_000,
    "jpeg_quality": 90,
    "thumbnail_sizes": (256, 1024),
}


def process(data: bytes, **overrides):
    return image_process(data=data, **{**LIMITS, **overrides})


def rejection(data: bytes, **overrides) -> DomainError:
    with pytest.raises(DomainError) as caught:
        process(data, **overrides)
    return caught.value


def test_gps_exif_is_stripped_from_the_stored_jpeg():
    original = Image.open(io.BytesIO(image_files.jpeg_with_gps()))
    assert original.getexif().get_ifd(image_files.GPS_IFD), "fixture must carry GPS"

    result = process(image_files.jpeg_with_gps())

    stored = Image.open(io.BytesIO(result.content))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info
    assert "icc_profile" not in stored.info
    assert b"Exif" not in result.content[:4096]
    assert b"TestCam" not in result.content


def test_exif_orientation_is_applied_to_the_pixels():
    # Orientation 6 means "rotate 90° clockwise to display": a 640×480 sensor image is upright
    # as 480×640.
    result = process(image_files.jpeg_with_gps(orientation=6))

    assert (result.width, result.height) == (480, 640)
    assert Image.open(io.BytesIO(result.content)).size == (480, 640)


def test_png_text_chunks_xmp_and_icc_profile_are_removed():
    result = process(image_files.png_with_metadata())

    stored = Image.open(io.BytesIO(result.content))
    assert stored.format == "PNG"
    assert stored.info.get("icc_profile") is None
    assert getattr(stored, "text", {}) == {}
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"eXIf"):
        assert chunk not in result.content
    assert b"secret location" not in result.content


def test_webp_is_accepted_and_stays_webp():
    result = process(image_files.webp())

    assert result.media_type == "image/webp"
    assert Image.open(io.BytesIO(result.content)).format == "WEBP"


def test_heic_from_a_phone_is_stored_as_jpeg_that_browsers_can_show():
    result = process(image_files.heic())

    assert result.original_format == "heif"
    assert result.media_type == "image/jpeg"
    assert Image.open(io.BytesIO(result.content)).size == (320, 240)


def test_avif_is_accepted_and_stored_as_jpeg():
    result = process(image_files.avif(320, 240))

    assert result.original_format == "avif"
    assert result.media_type == "image/jpeg"
    assert Image.open(io.BytesIO(result.content)).size == (320, 240)


def test_avif_with_transparency_is_stored_as_png():
    transparent = Image.new("RGBA", (64, 48), (10, 200, 30, 128))

    result = process(image_files.encode(transparent, "AVIF"))

    assert result.media_type == "image/png"
    assert Image.open(io.BytesIO(result.content)).mode == "RGBA"


def test_animated_image_keeps_only_its_first_frame_and_says_so():
    result = process(image_files.animated_png(frames=3))

    stored = Image.open(io.BytesIO(result.content))
    assert getattr(stored, "n_frames", 1) == 1
    assert result.notes == ("This file has several frames; only the first one was kept.",)
    first = image_files.photo(120, 90, 10)
    assert stored.convert("RGB").getpixel((5, 5)) == first.getpixel((5, 5))


def test_thumbnails_are_webp_with_the_requested_longest_side():
    result = process(image_files.jpeg(1600, 1200, seed=7))

    large = Image.open(io.BytesIO(result.thumbnails[1024]))
    small = Image.open(io.BytesIO(result.thumbnails[256]))
    assert (large.format, large.size) == ("WEBP", (1024, 768))
    assert (small.format, small.size) == ("WEBP", (256, 192))


def test_small_images_are_not_upscaled_for_thumbnails():
    result = process(image_files.jpeg(200, 100, seed=8))

    assert Image.open(io.BytesIO(result.thumbnails[1024])).size == (200, 100)


def test_the_same_photo_always_gives_the_same_sha256():
    data = image_files.jpeg(seed=9)

    assert process(data).sha256 == process(data).sha256


def test_a_recompressed_copy_has_a_nearby_perceptual_hash():
    photo = image_files.photo(640, 480, seed=11)
    first = process(image_files.encode(photo, "JPEG", quality=95))
    copy = process(image_files.encode(photo.resize((600, 450)), "JPEG", quality=70))
    other = process(image_files.jpeg(seed=12))

    assert first.sha256 != copy.sha256
    assert phash_distance(first.phash, copy.phash) <= 3
    assert phash_distance(first.phash, other.phash) > 10


def test_phash_bands_split_the_hash_into_four_16_bit_parts():
    assert phash_bands("0001ffff00100abc") == (0x0001, 0xFFFF, 0x0010, 0x0ABC)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (image_files.jpeg()[:64], "jpeg"),
        (image_files.webp()[:64], "webp"),
        (image_files.heic()[:64], "heif"),
        (image_files.png_with_metadata()[:64], "png"),
        (b"GIF89a" + b"\x00" * 58, None),
        (image_files.SVG[:64], None),
    ],
)
def test_format_is_recognised_from_the_bytes(head, expected):
    assert sniff_format(head) == expected


def test_non_image_bytes_are_refused_whatever_the_file_is_called():
    error = rejection(image_files.NOT_AN_IMAGE)

    assert (error.status, error.code) == (415, "unsupported_format")
    assert "not a supported image" in error.message
    assert "JPEG, PNG, WebP, HEIC/HEIF or AVIF" in error.message


def test_svg_is_refused_by_name():
    error = rejection(image_files.SVG)

    assert (error.status, error.code) == (415, "unsupported_format")
    assert error.message.startswith("SVG and other markup files are not accepted")


def test_gif_is_refused():
    gif = image_files.encode(image_files.photo(40, 30), "GIF")

    assert rejection(gif).code == "unsupported_format"


def test_empty_file_is_refused():
    error = rejection(b"")

    assert (error.status, error.code, error.message) == (400, "empty_file", "The file is empty.")


def test_file_over_the_size_cap_is_refused():
    data = image_files.jpeg(seed=13)

    error = rejection(data, max_bytes=len(data) - 1)

    assert (error.status, error.code) == (413, "file_too_large")
    assert "the limit is" in error.message


def test_truncated_jpeg_is_refused_as_corrupt():
    error = rejection(image_files.truncated_jpeg())

    assert (error.status, error.code) == (400, "corrupt_image")
    assert "truncated or corrupt" in error.message


def test_jpeg_whose_header_claims_far_more_pixels_than_its_data_holds_is_refused():
    data = image_files.jpeg_with_inflated_header(6600, 6000)
    assert len(data) < 1000

    error = rejection(data)

    assert (error.status, error.code) == (400, "corrupt_image")
    assert "cannot hold the 6600×6000 pixels" in error.message


def test_blank_jpeg_of_the_same_size_is_short_but_still_accepted():
    """The smallest real encoding of a blank 39.6 MP image is far above the bound."""
    blank = Image.new("L", (6600, 6000), 0)
    data = image_files.encode(blank, "JPEG", quality=95, optimize=True)

    result = process(data)

    assert (result.width, result.height) == (6600, 6000)


def test_png_claiming_100000_by_100000_pixels_is_refused_before_decoding():
    error = rejection(image_files.png_header_claiming(100_000, 100_000))

    assert (error.status, error.code) == (400, "too_many_pixels")
    assert "40 megapixels" in error.message


def test_image_over_the_pixel_cap_names_its_size():
    error = rejection(image_files.png_header_claiming(8000, 6000))

    assert error.code == "too_many_pixels"
    assert "8000×6000 pixels (48 megapixels)" in error.message


def test_pixel_cap_is_configurable():
    error = rejection(image_files.jpeg(640, 480), max_pixels=100_000)

    assert error.code == "too_many_pixels"


def test_previews_of_a_rotated_jpeg_are_upright_too():
    result = process(image_files.jpeg_with_gps(orientation=6, width=1600, height=1200))

    large = Image.open(io.BytesIO(result.thumbnails[1024]))
    assert (result.width, result.height) == (1200, 1600)
    assert large.size == (768, 1024)
