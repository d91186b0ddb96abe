"""server/app.py: what a started worker sets in its Python runtime."""

from __future__ import annotations

import gc

import pytest
from graphql import GraphQLError

from server.app import GC_THRESHOLD, _check_parses, _parses_remembered
from tests.helpers.service import Service


async def test_a_started_service_freezes_start_up_objects_and_collects_young_ones_less_often(
    service: Service,
) -> None:
    client = service.client()
    assert (await client.execute("{ __typename }")).data == {"__typename": "Query"}
    await client.aclose()
    assert gc.get_freeze_count() > 10_000  # modules, the schema: never rescanned
    assert gc.get_threshold() == GC_THRESHOLD


def test_a_subscription_that_parsed_is_remembered_and_a_refusal_is_not() -> None:
    query = "subscription Remembered { reviewEvents { message { id } } }"
    _check_parses(query, 500)
    before = _parses_remembered.cache_info()
    _check_parses(query, 500)
    assert _parses_remembered.cache_info().hits == before.hits + 1
    for _ in range(2):
        with pytest.raises(GraphQLError):
            _check_parses("subscription {", 500)
    assert _parses_remembered.cache_info().currsize == before.currsize
    with pytest.raises(GraphQLError):  # the token cap is part of what is remembered
        _check_parses(query, 3)
