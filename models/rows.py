"""Models from hand-written SQL, for the few hot reads every request makes.

Tortoise builds each query through pypika, and the profile of an upload showed building two
small statements (the viewer's session and the candidate's row lock) costing more than running
them. These helpers let such a statement select several models' columns under aliases and turn
each row back into the same model instances Tortoise would have made: `_init_from_db` is the
very constructor its executor calls, so field conversions stay Tortoise's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str, *, qualified: bool = True) -> str:
    """`alias."col" AS "alias__col", …` for every column of the model; unqualified
    (`"col" AS "alias__col"`) for a RETURNING list, where the table has no alias."""
    source = f"{alias}." if qualified else ""
    return ", ".join(
        f'{source}"{column}" AS "{alias}__{column}"'
        for column in model._meta.fields_db_projection.values()
    )


def from_row(model: type[M], row: Mapping[str, Any], alias: str) -> M | None:
    """The model selected by `columns(model, alias)`, or None when the outer join found none."""
    prefix = f"{alias}__"
    values = {key[len(prefix):]: value for key, value in row.items() if key.startswith(prefix)}
    if values.get(model._meta.db_pk_column) is None:
        return None
    return model._init_from_db(**values)

