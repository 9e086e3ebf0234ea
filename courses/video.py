"""Lesson videos: an embed from an allow-listed host (YouTube, Vimeo, Bunny Stream, or any
host in LESSON_VIDEO_EMBED_HOSTS) or a direct https file (.mp4/.webm). Anything else is refused
when an editor saves the lesson, so a customer's page never frames an arbitrary site."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_VIMEO_ID = re.compile(r"^[0-9]{4,12}$")
_FILE_EXTENSIONS = (".mp4", ".webm", ".m4v", ".ogv")


@dataclass(frozen=True)
class Video:
    kind: str  # "embed" or "file"
    src: str


def _youtube(host: str, path: str, query: str) -> str | None:
    video_id = ""
    if host in ("youtu.be",):
        video_id = path.strip("/")
    elif host in (
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    ):
        if path == "/watch":
            video_id = (parse_qs(query).get("v") or [""])[0]
        elif path.startswith(("/embed/", "/shorts/", "/live/")):
            video_id = path.split("/")[2]
    if video_id and _YOUTUBE_ID.match(video_id):
        return f"https://www.youtube-nocookie.com/embed/{video_id}"
    return None


def _vimeo(host: str, path: str) -> str | None:
    parts = [p for p in path.split("/") if p]
    if host in ("vimeo.com", "www.vimeo.com") and parts and _VIMEO_ID.match(parts[-1]):
        return f"https://player.vimeo.com/video/{parts[-1]}"
    is_player = host == "player.vimeo.com" and len(parts) == 2 and parts[0] == "video"
    if is_player and _VIMEO_ID.match(parts[1]):
        return f"https://player.vimeo.com/video/{parts[1]}"
    return None


def lesson_video(url: str) -> Video | None:
    """The playable form of a lesson's video URL, or None when it is not allowed."""
    url = (url or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    embed = _youtube(host, parts.path, parts.query) or _vimeo(host, parts.path)
    if embed:
        return Video(kind="embed", src=embed)
    if host == "iframe.mediadelivery.net" and parts.path.startswith("/embed/"):
        return Video(kind="embed", src=url)
    if host in {h.lower() for h in settings.LESSON_VIDEO_EMBED_HOSTS}:
        return Video(kind="embed", src=url)
    if parts.path.lower().endswith(_FILE_EXTENSIONS):
        return Video(kind="file", src=url)
    return None


def validate_lesson_video_url(url: str) -> None:
    if url and lesson_video(url) is None:
        raise ValidationError(
            "Pakai link YouTube, Vimeo, Bunny Stream, host di LESSON_VIDEO_EMBED_HOSTS, atau file "
            "video https (.mp4/.webm)."
        )
