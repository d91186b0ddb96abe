"""The GraphQL schema: each domain's Query/Mutation pieces merged, with limits and masking."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from resolvers.errors import AccessError
from schema.accounts import AccountMutation
from schema.candidates import CandidateMutation, CandidateQuery
from schema.materials import MaterialMutation, MaterialQuery
from schema.review import ReviewMutation, ReviewSubscription
from server.settings import Settings

SDL_PATH = Path(__file__).with_name("schema.graphql")

Query = merge_types("Query", (CandidateQuery, MaterialQuery))
Mutation = merge_types("Mutation", (AccountMutation, CandidateMutation, MaterialMutation, ReviewMutation))
Subscription = merge_types("Subscription", (ReviewSubscription,))


def should_mask(error: GraphQLError) -> bool:
    """Show access errors and the document's own syntax/validation errors; hide the rest."""
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, AccessError)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        # Factories, not instances: an extension instance keeps per-operation state, so one
        # shared across concurrent requests leaks between them. The caches live at module level.
        extensions=[
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaskErrors(
                should_mask_error=should_mask, error_message="服务器内部错误，请稍后重试。"
            ),
        ],
    )


def export_sdl(schema: strawberry.Schema | None = None) -> str:
    return (schema or build_schema()).as_str() + "\n"
