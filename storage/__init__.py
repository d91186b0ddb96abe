"""Where picture bytes live, and the checks that run before anything is stored."""

from storage.base import PictureStore, open_store

__all__ = ["PictureStore", "open_store"]
