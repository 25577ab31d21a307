from .base import FeedSource, SourceUnavailable

__all__ = ["FeedSource", "SourceUnavailable"]
