"""What keeps a start cheap stays so: no model makes Tortoise read its source at import."""

from __future__ import annotations

import inspect

import models


def test_every_model_skips_tortoise_comment_scan_and_loses_nothing_by_it() -> None:
    # Tortoise reads a model's source (a parse of its whole file) for `#:` field comments;
    # `_no_comments` skips that. It must be each class's own attribute, and there must be
    # no such comment that a field description would then miss.
    for model in models.__models__:
        assert model.__dict__.get("_no_comments") is True, model.__name__
        comments = [line for line in inspect.getsource(model).splitlines() if line.lstrip().startswith("#:")]
        assert not comments, f"{model.__name__} has `#:` field comments: {comments}"
