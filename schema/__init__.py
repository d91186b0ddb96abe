"""The GraphQL schema: each domain's Query/Mutation pieces merged, with limits and masking."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from core.errors import AccessError
from core.settings import Settings
from schema.auth import AuthMutation
from schema.candidates import CandidateQuery
from schema.claims import ClaimMutation
from schema.limits import MaxExpandedFields
from schema.materials import MaterialMutation, MaterialQuery
from schema.messages import MessageMutation, MessageSubscription
from schema.observability import MaskWithRequestId, ObserveOperation, log_unexpected
from schema.picture_access import PictureAccessQuery
from schema.profile import ProfileMutation
from schema.queue import QueueQuery, QueueSubscription
from schema.review import ReviewMutation, ReviewQuery
from schema.submission import SubmissionMutation

SDL_PATH = Path(__file__).with_name("schema.graphql")

# Each domain brings its own pieces; their order is the order of the exported SDL.
Query = merge_types(
    "Query", (CandidateQuery, MaterialQuery, QueueQuery, ReviewQuery, PictureAccessQuery)
)
Mutation = merge_types(
    "Mutation",
    (
        AuthMutation,
        ProfileMutation,
        SubmissionMutation,
        MaterialMutation,
        MessageMutation,
        ReviewMutation,
        ClaimMutation,
    ),
)
Subscription = merge_types("Subscription", (MessageSubscription, QueueSubscription))


def should_mask(error: GraphQLError) -> bool:
    """Show access errors and the document's own syntax/validation errors; hide the rest."""
    original = error.original_error
    # No path: refused before execution, e.g. a variable of the wrong type (the caller's error).
    if original is None or error.path is None:
        return False
    return not isinstance(original, AccessError)


class ReviewSchema(strawberry.Schema):
    """Strawberry's schema with the request limits set on each operation as it is made.

    The token cap and the depth/alias rules were extensions (MaxTokensLimiter,
    AddValidationRules) whose only work is to set two fields before parsing; but every
    extension hook stays entered for the operation's whole life, and a subscription lives as
    long as its page: a generator, its context manager and the extension per open page.
    """

    def __init__(
        self,
        *args: Any,
        max_tokens: int,
        limit_rules: Sequence[type[ASTValidationRule]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_tokens = max_tokens
        self.limit_rules = tuple(limit_rules)

    def _create_execution_context(
        self, *args: Any, **kwargs: Any
    ) -> ExecutionContext:
        context = super()._create_execution_context(*args, **kwargs)
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.limit_rules
        return context

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Access errors and bad documents are the caller's; only unexpected failures are logged,
        # with the request id their masked answer carries.
        unexpected = [e for e in errors if should_mask(e)]
        log_unexpected(unexpected, execution_context.context if execution_context else None)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # Each limiter instance makes a new rule class, and the validation cache is keyed by the
    # rules: built per request they made every request miss it. Build them once per schema.
    limit_rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    return ReviewSchema(
        max_tokens=settings.max_query_tokens,
        limit_rules=limit_rules,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        # Factories, not instances: an extension instance keeps per-operation state, so one
        # shared across concurrent requests leaks between them. The caches live at module level.
        extensions=[
            lambda: ParserCache(maxsize=256),
            # Before the validation cache: validating a fragment bomb is what stalls.
            lambda: MaxExpandedFields(max_fields=settings.max_query_tokens),
            lambda: ValidationCache(maxsize=256),
            lambda: MaskWithRequestId(
                should_mask_error=should_mask, error_message="服务器内部错误，请稍后重试。"
            ),
            # After the masking, so it sees each error as it was.
            lambda: ObserveOperation(should_mask),
        ],
    )


def export_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or build_schema()).as_str() + "\n"
