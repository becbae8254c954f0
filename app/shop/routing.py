"""The URL converters every route uses: a path segment the shop cannot store matches no route (404)."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

from .numbers import MAX_ID, WHOLE_NUMBER


class IdConverter(IntegerConverter):
    """`<int:...>`: ASCII digits up to MAX_ID (werkzeug's own also takes "١٢" and any size)."""

    regex = WHOLE_NUMBER.pattern

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class TextConverter(UnicodeConverter):
    """`<name>` and `<string:...>`: no control characters (PostgreSQL text cannot even hold NUL)."""

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None, length: int | None = None):
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")


def register_converters(url_map: Map) -> None:
    url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter)
