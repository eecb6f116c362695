"""The safe ingest pipeline: untrusted upload bytes in, a clean re-encoded image out.

Pure image work with no database or storage access, so the same code serves the upload page,
the API and the benchmark. Every refusal is a DomainError that names the problem.
"""

import hashlib
import io
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import imagehash
import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from core.errors import DomainError

pillow_heif.register_heif_opener()

# Pillow decoders we let near untrusted bytes; everything else is refused before decoding.
# AVIF is decoded by Pillow's own plugin (libavif in Pillow's wheels), HEIC by pillow-heif.
ALLOWED_PILLOW_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF")
ALLOWED_FORMATS_TEXT = "JPEG, PNG, WebP, HEIC/HEIF or AVIF"
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1"}
# AVIF files list "mif1" among their compatible brands too, so these are checked first.
AVIF_BRANDS = {b"avif", b"avis"}
# Every 8×8 block of a JPEG's brightness channel costs at least one bit of coded data (a
# Huffman code is never shorter); real encoders need two or more even for a blank image. A
# file shorter than that for the size its header claims is truncated: decoding it would only
# invent grey pixels, at full cost for a few hundred bytes of upload.
JPEG_MIN_BITS_PER_BLOCK = 1

# EXIF orientation value -> the transpose that makes the pixels upright.
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
EXIF_ORIENTATION_TAG = 0x0112

OUTPUT_FORMATS = {
    # stored format: (Pillow format, extension, media type)
    "jpeg": ("JPEG", "jpg", "image/jpeg"),
    "png": ("PNG", "png", "image/png"),
    "webp": ("WEBP", "webp", "image/webp"),
}
THUMBNAIL_QUALITY = 80
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Pillow releases the GIL while decoding, resizing and encoding, so previews made here run in
# parallel with the full-size work of the request thread.
_PREVIEW_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-previews")


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes
    extension: str
    media_type: str
    original_format: str
    width: int
    height: int
    sha256: str
    # The stored bytes' CRC-32, as a ZIP entry names it: archives copy the file without
    # reading it a second time to work it out.
    crc32: int
    phash: str
    thumbnails: dict[int, bytes]
    notes: tuple[str, ...] = field(default=())

    @property
    def phash_bands(self) -> tuple[int, int, int, int]:
        return phash_bands(self.phash)

    def image_fields(self) -> dict:
        """The Image model's fields that describe these pixels."""
        return {
            "media_type": self.media_type,
            "byte_size": len(self.content),
            "width": self.width,
            "height": self.height,
            "original_format": self.original_format,
            "sha256": self.sha256,
            "crc32": self.crc32,
            "phash": self.phash,
            **{f"phash_band{i}": band for i, band in enumerate(self.phash_bands)},
        }


def phash_bands(phash: str) -> tuple[int, int, int, int]:
    return tuple(int(phash[i : i + 4], 16) for i in range(0, 16, 4))  # type: ignore[return-value]


def phash_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def sniff_format(head: bytes) -> str | None:
    """The container format from the file's first bytes; the name and content type are ignored."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {
            head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)
        }
        if head[8:12] in AVIF_BRANDS:
            return "avif"
        if brands & HEIF_BRANDS:
            return "heif"
    return None


def _looks_like_markup(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html"))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def file_too_large(size: int, max_bytes: int) -> DomainError:
    return DomainError(
        f"The file is {_megabytes(size)}; the limit is {_megabytes(max_bytes)}.",
        code="file_too_large",
        status=413,
    )


def upload_read(upload, *, max_bytes: int) -> bytes:
    """The bytes of an uploaded file, refusing an oversized one before reading it."""
    if upload.size is not None and upload.size > max_bytes:
        raise file_too_large(upload.size, max_bytes)
    upload.seek(0)
    return upload.read(max_bytes + 1)


def image_process(
    *,
    data: bytes,
    max_bytes: int,
    max_pixels: int,
    jpeg_quality: int,
    thumbnail_sizes: tuple[int, ...],
) -> ProcessedImage:
    """Validate, decode, orient and re-encode an upload without any metadata."""
    if not data:
        raise DomainError("The file is empty.", code="empty_file")
    if len(data) > max_bytes:
        raise file_too_large(len(data), max_bytes)
    container = sniff_format(data[:64])
    if container is None:
        if _looks_like_markup(data[:256]):
            message = f"SVG and other markup files are not accepted; send a {ALLOWED_FORMATS_TEXT}"
        else:
            message = f"This is not a supported image; send a {ALLOWED_FORMATS_TEXT}"
        raise DomainError(message + " photo.", code="unsupported_format", status=415)

    image = _open_within_pixel_cap(data, max_pixels=max_pixels)
    if container == "jpeg":
        _refuse_truncated_jpeg(len(data), image.size)
    notes = []
    if getattr(image, "n_frames", 1) > 1:
        notes.append("This file has several frames; only the first one was kept.")
    # A JPEG decodes at 1/2..1/8 scale straight from its DCT data, so the previews come from a
    # second, much cheaper decode on another core while this thread decodes the full image.
    previews = (
        _PREVIEW_WORKERS.submit(_jpeg_previews, data, thumbnail_sizes)
        if container == "jpeg"
        else None
    )
    try:
        image, output = _prepared(image, container)
    except DomainError:
        if previews is not None:
            previews.cancel()
            wait([previews])
        raise
    # Nothing of the upload's metadata may travel with the pixels: EXIF (GPS), XMP, ICC, text.
    image.info = {}

    pillow_format, extension, media_type = OUTPUT_FORMATS[output]
    buffer = io.BytesIO()
    if pillow_format == "JPEG":
        image.save(buffer, "JPEG", quality=jpeg_quality)
    elif pillow_format == "WEBP":
        image.save(buffer, "WEBP", quality=jpeg_quality)
    else:
        image.save(buffer, "PNG", compress_level=6)
    content = buffer.getvalue()

    try:
        thumbnails, smallest = (
            previews.result() if previews else _thumbnails(image, thumbnail_sizes)
        )
    except DomainError:
        # The scaled decode disagreed with the full one; previews from the full image are right.
        thumbnails, smallest = _thumbnails(image, thumbnail_sizes)
    return ProcessedImage(
        content=content,
        extension=extension,
        media_type=media_type,
        original_format=container,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(content).hexdigest(),
        crc32=zlib.crc32(content),
        phash=str(imagehash.phash(smallest)),
        thumbnails=thumbnails,
        notes=tuple(notes),
    )


def _open_within_pixel_cap(data: bytes, *, max_pixels: int) -> Image.Image:
    """Parse only the header and refuse oversized images before any pixel is decoded."""
    too_many = DomainError(
        f"The image has more than {max_pixels / 1_000_000:g} megapixels, the most accepted.",
        code="too_many_pixels",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_PILLOW_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_many from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DomainError(
            "The file looks like an image but its data is corrupt, so it could not be read.",
            code="corrupt_image",
        ) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise DomainError("The image has no pixels.", code="corrupt_image")
    if width * height > max_pixels:
        raise DomainError(
            f"The image is {width}×{height} pixels ({width * height / 1_000_000:.0f} megapixels); "
            f"at most {max_pixels / 1_000_000:g} megapixels are accepted.",
            code="too_many_pixels",
        )
    return image


def _refuse_truncated_jpeg(size: int, dimensions: tuple[int, int]) -> None:
    width, height = dimensions
    blocks = -(-width // 8) * -(-height // 8)
    if size * 8 < blocks * JPEG_MIN_BITS_PER_BLOCK:
        raise DomainError(
            f"The JPEG is truncated or corrupt: {size:,} bytes cannot hold the {width}×{height} "
            "pixels its header claims.",
            code="corrupt_image",
        )


def _prepared(image: Image.Image, container: str) -> tuple[Image.Image, str]:
    """Decoded, upright, sRGB pixels in a storable mode, and the format to store them in."""
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise DomainError(
            "The image data is truncated or corrupt, so it could not be decoded.",
            code="corrupt_image",
        ) from exc
    image = _to_srgb(_upright(image))
    output = _output_format(container, image)
    return _storable_mode(image, output), output


def _jpeg_previews(data: bytes, sizes: tuple[int, ...]) -> tuple[dict[int, bytes], Image.Image]:
    image = Image.open(io.BytesIO(data), formats=("JPEG",))
    # The cheapest DCT scale that keeps 95% of the largest preview's size: a 4000 px photo
    # gives a 1000 px "1024" preview straight from a 1/4-scale decode, with no resize at all.
    width, height = image.size
    scale = max(sizes) / max(width, height)
    if scale < 1:
        image.draft(image.mode, (int(width * scale * 0.95), int(height * scale * 0.95)))
    image, _ = _prepared(image, "jpeg")
    return _thumbnails(image, sizes)


def _upright(image: Image.Image) -> Image.Image:
    try:
        orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError):
        # Broken EXIF must not sink an otherwise good photo; it is discarded anyway.
        return image
    transpose = ORIENTATION_TRANSPOSE.get(orientation)
    return image.transpose(transpose) if transpose is not None else image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Bake a camera's colour profile into sRGB pixels, since the profile itself is dropped."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower():
            return image
        return ImageCms.profileToProfile(image, profile, SRGB_PROFILE, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )


def _output_format(container: str, image: Image.Image) -> str:
    if container in ("heif", "avif"):
        # Browsers cannot show HEIC (nor older ones AVIF); keep transparency if there is any.
        return "png" if _has_alpha(image) else "jpeg"
    return container


def _storable_mode(image: Image.Image, output: str) -> Image.Image:
    if output == "jpeg":
        return image if image.mode in ("RGB", "L") else image.convert("RGB")
    if _has_alpha(image):
        return image if image.mode == "RGBA" else image.convert("RGBA")
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def _thumbnails(image: Image.Image, sizes: tuple[int, ...]) -> tuple[dict[int, bytes], Image.Image]:
    """WebP previews, longest side at most `size`, and the smallest as pixels (for hashing).

    Each smaller preview is scaled from the one above, which is much cheaper than from the full
    image."""
    thumbnails = {}
    source = image
    for size in sorted(sizes, reverse=True):
        scale = min(1.0, size / max(source.size))
        target = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
        if target != source.size:
            # A box reduction to within 2x of the target first, then bicubic: a fraction of
            # the cost of bicubic over all pixels, and no visible difference at preview sizes.
            source = source.resize(target, Image.Resampling.BICUBIC, reducing_gap=1.0)
        buffer = io.BytesIO()
        # method=0 is WebP's fastest encoder; previews are small, so size barely changes.
        source.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=0)
        thumbnails[size] = buffer.getvalue()
    return thumbnails, source
