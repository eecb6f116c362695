"""Image bytes for tests, made with Pillow so every case is explicit and reproducible."""

import io
import struct
import zlib

import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

GPS_IFD = 0x8825


def photo(width: int = 640, height: int = 480, seed: int = 1) -> Image.Image:
    """A photo-like picture: smooth colour fields plus a little noise, distinct per seed."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), "RGB")
    smooth = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noise = rng.normal(0, 6, smooth.shape).astype(np.int16)
    return Image.fromarray(np.clip(smooth + noise, 0, 255).astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg(width: int = 640, height: int = 480, seed: int = 1, **options) -> bytes:
    return encode(photo(width, height, seed), "JPEG", quality=90, **options)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    return exif


def jpeg_with_gps(
    orientation: int = 1, seed: int = 2, width: int = 640, height: int = 480
) -> bytes:
    return jpeg(width, height, seed, exif=exif_with_gps(orientation).tobytes())


def png_with_metadata(seed: int = 3) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret location: 52.5N 13.4E")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>private</x:xmpmeta>")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(photo(320, 240, seed), "PNG", pnginfo=info, icc_profile=icc)


def webp(seed: int = 4) -> bytes:
    return encode(photo(320, 240, seed), "WEBP", quality=85)


def heic(seed: int = 5) -> bytes:
    pillow_heif.register_heif_opener()
    return encode(photo(320, 240, seed), "HEIF", quality=85)


def animated_png(frames: int = 3) -> bytes:
    images = [photo(120, 90, seed) for seed in range(10, 10 + frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100)


def truncated_jpeg() -> bytes:
    data = jpeg(seed=6)
    return data[: len(data) // 2]


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims huge dimensions, with a tiny body (a decompression bomb)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(1)</script><rect width="10" height="10"/></svg>'
)
NOT_AN_IMAGE = b"%PDF-1.4 this is really a document pretending to be a photo\n" * 20


def avif(width: int = 320, height: int = 240, seed: int = 4, **options) -> bytes:
    return encode(photo(width, height, seed), "AVIF", quality=80, **options)


def jpeg_with_inflated_header(width: int, height: int) -> bytes:
    """A 16×16 JPEG whose frame header claims `width`×`height`: a few hundred bytes that a
    decoder would pad with grey into a huge image."""
    data = bytearray(encode(photo(16, 16, 3), "JPEG", quality=90))
    frame = data.find(b"\xff\xc0")  # SOF0: marker, length, precision, height, width
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)
