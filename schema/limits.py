"""A limit the stock extensions miss: documents whose fragments expand exponentially.

`fragment F1 on Query { ...F0 ...F0 }`, `F2 { ...F1 ...F1 }`, … is a few hundred tokens,
yet walking it (as the depth limiter does) visits 2^n fields and stalls the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension


def expanded_size(document: DocumentNode) -> int:
    """Fields of the largest operation with every fragment spread written out (memoised)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}

    def size(selection_set: SelectionSetNode | None, path: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += 1 + size(selection.selection_set, path)
            elif isinstance(selection, InlineFragmentNode):
                total += size(selection.selection_set, path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in sizes:
                    fragment = fragments.get(name)
                    if fragment is None or name in path:  # unknown or cyclic: validation says so
                        continue
                    sizes[name] = size(fragment.selection_set, path | {name})
                total += sizes[name]
        return total

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return max((size(o.selection_set, frozenset()) for o in operations), default=0)


class MaxExpandedFields(SchemaExtension):
    """Refuse a document whose fragments expand past `max_fields`, before validation walks it."""

    def __init__(self, max_fields: int) -> None:
        self.max_fields = max_fields

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None and expanded_size(document) > self.max_fields:
            raise GraphQLError(
                f"查询展开后的字段过多（上限 {self.max_fields}），请减少片段的重复引用。",
                extensions={"code": "QUERY_TOO_COMPLEX"},
            )
        yield
