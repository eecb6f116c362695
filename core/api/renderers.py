"""JSON responses through orjson: the API's hot path renders a task or a vote per request."""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

# Types orjson leaves to us (lazy translations, Decimal, timedelta, querysets) get DRF's own
# conversions, so a response reads the same whichever renderer wrote it.
_drf_default = JSONEncoder().default
_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# DRF escapes these two so a response can sit inside a <script> element; so do we.
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


class FastJSONRenderer(JSONRenderer):
    """DRF's JSON renderer, with orjson doing the encoding (compact, UTF-8, UTC as `Z`)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_drf_default, option=_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError is one
            # Integers beyond 64 bits and other rarities: the standard library still takes them.
            return super().render(data, accepted_media_type, renderer_context)
        for raw, escaped in _LINE_SEPARATORS:
            if raw in rendered:
                rendered = rendered.replace(raw, escaped)
        return rendered
