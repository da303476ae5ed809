"""Image file names (full-face photographs and comparable images)."""

from __future__ import annotations

from medllm.trust.recognizers.base import ContextPatternRecognizer, NamedPattern


class PhotoFileRecognizer(ContextPatternRecognizer):
    ENTITY = "PHOTO"
    NAME = "PhotoFileRecognizer"
    PATTERNS = (
        NamedPattern("image_file", r'(?P<v>\b[\w-]{1,100}\.(?:jpe?g|png|heic|tiff?|bmp|gif|dcm))\b', 0.9, flags=2),
    )
