"""Access: nobody gets in where they don't belong, however they try.

Tokens tampered, expired and revoked; signed picture addresses altered or expired; a
candidate guessing another's pictures; an examiner of one site reaching another site's
candidates through every entry point; sign-in timing; the throttle under a burst.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.security import new_session_id, sign_path, sign_token
from models import Attachment, AuditEntry, MaterialCategory, ReviewMessage, Session
from models.enums import Role
from resolvers.events import candidate_topic, queue_topic
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, SignedInStaff, signed_in
from tests.helpers.client import GRAPHQL_TRANSPORT_WS, FilePart, GraphQLClient
from tests.helpers.factories import PASSWORD, make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.raw import TIMEOUT, Tally
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as settings_for
from tests.helpers.waiting import subscribed

TALLY = Tally("access")


@pytest.fixture(scope="module", autouse=True)
def report_tally() -> object:
    yield None
    TALLY.report()


async def _submitted_with_pictures(
    service: Service, categories: dict[str, MaterialCategory], region: str, site: str
) -> tuple[SignedInCandidate, list[str]]:
    """A candidate of region/site who uploaded every category and submitted."""
    row = await make_candidate(service, region=region, site=site)
    client = await signed_in(service, row.username)
    ids = []
    for code, count in (("ID", 2), ("EDU", 1), ("PROBATION", 1)):
        for i in range(count):
            result = await client.upload(
                op.UPLOAD, {"categoryId": str(categories[code].id)},
                {"file": FilePart("a.jpg", small_jpeg(60 + i), "image/jpeg")},
            )
            payload = result.payload("uploadAttachment")
            assert payload["errors"] == [], payload
            ids.append(payload["attachment"]["id"])
    assert (await client.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
    return SignedInCandidate(client, row), ids


# --- tokens --------------------------------------------------------------------------------


def _tampered(token: str) -> list[str]:
    version, session_id, expires, signature = token.split(".")
    flip = {"a": "b", "b": "a"}
    return [
        f"{version}.{session_id}.{expires}.{signature[:-1]}{flip.get(signature[-1], 'a')}",
        f"{version}.{session_id[:-1]}{flip.get(session_id[-1], 'a')}.{expires}.{signature}",
        f"{version}.{session_id}.{int(expires) + 86400}.{signature}",
        f"{version}.{new_session_id()}.{expires}.{signature}",
        f"v2.{session_id}.{expires}.{signature}",
        f"{version}.{session_id}.{expires}",
        f"{version}.{session_id}.{expires}.{signature}.extra",
        f"{version}.{session_id}.-1.{signature}",
        "",
        "null",
        "Bearer",
        "v1...",
    ]


async def _refused(service: Service, token: str) -> None:
    """A bad token is refused for the candidate's reads and writes, and on the socket."""
    client = service.client(token)
    me = await client.execute(op.ME)
    assert me.data is None or me.data.get("me") is None
    assert set(me.error_codes) <= {"UNAUTHENTICATED"} and me.error_codes, me.errors
    profile = await client.execute(op.UPDATE_PROFILE, {"phone": "13912345678", "address": "x"})
    assert profile.error_codes and set(profile.error_codes) <= {"UNAUTHENTICATED"}
    await client.aclose()
    TALLY.add("token attempts", 2)


async def test_tampered_tokens_are_refused(service: Service, candidate_client: SignedInCandidate) -> None:
    assert candidate_client.client.token
    for bad in _tampered(candidate_client.client.token):
        await _refused(service, bad)
    # The real one still works.
    assert (await candidate_client.client.execute(op.ME)).payload("me")["id"]


async def test_tampered_tokens_cannot_open_a_socket(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    import websockets
    from websockets.exceptions import ConnectionClosed

    url = "ws" + service.base_url.removeprefix("http") + "/graphql"
    assert candidate_client.client.token
    for bad in _tampered(candidate_client.client.token)[:6]:
        async with websockets.connect(url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as socket:
            await socket.send(
                f'{{"type": "connection_init", "payload": {{"Authorization": "Bearer {bad}"}}}}'
            )
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        TALLY.add("token attempts")


async def test_expired_tokens_are_refused(service: Service) -> None:
    row = await make_candidate(service)
    secret = service.settings.secret_key
    past = datetime.now(UTC) - timedelta(minutes=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    with service.db():
        # Expired in the token itself, with a live session behind it.
        live = await Session.create(
            id=new_session_id(), role=Role.CANDIDATE, candidate=row, expires_at=future
        )
        # Expired in the database, though the token claims a later time.
        stale = await Session.create(
            id=new_session_id(), role=Role.CANDIDATE, candidate=row, expires_at=past
        )
    await _refused(service, sign_token(secret, live.id, int(past.timestamp())))
    await _refused(service, sign_token(secret, stale.id, int(future.timestamp())))
    # Control: the same live session with its real expiry is accepted.
    good = service.client(sign_token(secret, live.id, int(future.timestamp())))
    assert (await good.execute(op.ME)).payload("me")["id"] == str(row.id)
    await good.aclose()


async def test_a_signed_out_token_is_refused_everywhere(service: Service) -> None:
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    assert (await client.execute(op.ME)).payload("me")["id"] == str(row.id)
    assert (await client.execute(op.LOGOUT)).data == {"logout": True}
    assert client.token
    await _refused(service, client.token)
    await client.aclose()


async def test_a_token_signed_with_another_secret_is_refused(service: Service) -> None:
    row = await make_candidate(service)
    with service.db():
        session = await Session.create(
            id=new_session_id(), role=Role.CANDIDATE, candidate=row,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
    forged = sign_token("not-the-secret", session.id, int(time.time()) + 3600)
    await _refused(service, forged)


# --- signed picture addresses --------------------------------------------------------------


async def test_altered_or_expired_picture_addresses_are_refused(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    owner, _ = await _submitted_with_pictures(service, categories, "山东省", "济南")
    other, other_ids = await _submitted_with_pictures(service, categories, "山东省", "济南")
    me = (await owner.client.execute(op.ME)).payload("me")
    url = next(a["url"] for m in me["materials"] for a in m["attachments"])
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    exp, sig = query["exp"][0], query["sig"][0]
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path
    secret = service.settings.secret_key
    expired_path = sign_path(secret, path, 60, now=time.time() - 3600)
    attempts = [
        f"{base}{path}?exp={exp}&sig={sig[:-2]}{'AA' if not sig.endswith('AA') else 'BB'}",
        f"{base}{path}?exp={int(exp) + 1}&sig={sig}",
        f"{base}{path}?exp={int(exp) + 10**6}&sig={sig}",
        f"{base}{path}?exp={exp}",
        f"{base}{path}?sig={sig}",
        f"{base}{path}",
        f"{base}{path}?exp=-1&sig={sig}",
        f"{base}{path}?exp={exp}&sig=",
        f"{base}{path.replace('original', 'thumbnail')}?exp={exp}&sig={sig}",
        f"{base}{path.replace('original', 'secret')}?exp={exp}&sig={sig}",
        f"{base}{expired_path}",
        f"{base}{sign_path('wrong-secret', path, 600)}",
    ]
    # Another candidate's picture, and random ids, under this address's signature.
    for victim in [*other_ids, *(str(uuid.uuid4()) for _ in range(10))]:
        attempts.append(f"{base}/pictures/{victim}/original?exp={exp}&sig={sig}")
        attempts.append(f"{base}/pictures/{victim}/thumbnail?exp={exp}&sig={sig}")
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        assert (await http.get(url)).status_code == 200
        for attempt in attempts:
            response = await http.get(attempt)
            assert response.status_code in (403, 404), (attempt, response.status_code)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert not response.headers["content-type"].startswith("image/")
            TALLY.add("picture address attempts")
    for client in (owner.client, other.client):
        await client.aclose()


# --- a candidate guessing another's pictures -----------------------------------------------


async def test_a_candidate_cannot_touch_another_candidates_pictures(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    victim_row = await make_candidate(service)
    victim = await signed_in(service, victim_row.username)
    victim_ids = []
    for i in range(2):
        result = await victim.upload(
            op.UPLOAD, {"categoryId": str(categories["ID"].id)},
            {"file": FilePart("a.jpg", small_jpeg(70 + i), "image/jpeg")},
        )
        victim_ids.append(result.payload("uploadAttachment")["attachment"]["id"])
    attacker_row = await make_candidate(service)
    attacker = await signed_in(service, attacker_row.username)
    guesses = [*victim_ids, *(str(uuid.uuid4()) for _ in range(20)), "1", "' OR 1=1 --", "../x"]
    for guess in guesses:
        deleted = (await attacker.execute(op.DELETE, {"id": guess})).payload("deleteAttachment")
        assert [e["code"] for e in deleted["errors"]] == ["NOT_FOUND"] and deleted["deletedId"] is None
        verdict = await attacker.execute(op.VERDICT, {"id": guess, "verdict": "ACCEPTED"})
        assert verdict.error_codes == ["FORBIDDEN"]
        read = await attacker.execute(op.CANDIDATE, {"id": str(victim_row.id)})
        assert read.error_codes == ["FORBIDDEN"]
        TALLY.add("cross-candidate attempts", 3)
    with service.db():
        assert await Attachment.filter(candidate_id=victim_row.id).count() == 2
        assert not await AuditEntry.filter(candidate_id=victim_row.id, actor_id=attacker_row.id).exists()
    me = (await victim.execute(op.ME)).payload("me")
    ids = {a["id"] for m in me["materials"] for a in m["attachments"]}
    assert set(victim_ids) <= ids
    for client in (victim, attacker):
        await client.aclose()


# --- an examiner of one site and another site's candidates ---------------------------------


async def test_an_examiner_cannot_reach_another_sites_candidates(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    region = unique("省")
    own_candidate, own_ids = await _submitted_with_pictures(service, categories, region, "甲")
    far, far_ids = await _submitted_with_pictures(service, categories, region, "乙")
    elsewhere, elsewhere_ids = await _submitted_with_pictures(service, categories, unique("省"), "甲")
    examiner_row = await make_staff(service, region=region, site="甲")
    examiner = await signed_in(service, examiner_row.username)
    region_admin = await signed_in(service, (await make_staff(service, region, None, Role.ADMIN)).username)
    outsiders = [
        (far.row, far_ids),
        (elsewhere.row, elsewhere_ids),
    ]
    for candidate, picture_ids in outsiders:
        cid = str(candidate.id)
        # Queries: absent, exactly like a record that does not exist.
        assert (await examiner.execute(op.CANDIDATE, {"id": cid})).data == {"candidate": None}
        by_no = await examiner.execute(op.BY_ADMISSION_NO, {"no": candidate.admission_no})
        assert by_no.data == {"candidateByAdmissionNo": None}
        for variables in (
            {}, {"site": candidate.site}, {"search": candidate.name},
            {"search": candidate.admission_no}, {"status": ["SUBMITTED", "RETURNED", "APPROVED", "REJECTED", "DRAFT"]},
            {"first": 100},
        ):
            queue = (await examiner.execute(op.QUEUE, variables)).payload("reviewQueue")
            assert cid not in {e["node"]["id"] for e in queue["edges"]}
        # Mutations: NOT_FOUND, and nothing written.
        for document, name, extra in (
            (op.RETURN, "returnForCorrection", {"message": "x"}),
            (op.APPROVE, "approveCandidate", {}),
            (op.REJECT, "rejectCandidate", {"reason": "x"}),
            (op.FEEDBACK, "sendFeedback", {"body": "x"}),
        ):
            payload = (await examiner.execute(document, {"id": cid, **extra})).payload(name)
            assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"], payload
        for picture in picture_ids:
            payload = (
                await examiner.execute(op.VERDICT, {"id": picture, "verdict": "ACCEPTED"})
            ).payload("setAttachmentVerdict")
            assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
            assert payload["attachment"] is None
        TALLY.add("cross-site attempts", 1 + 1 + 6 + 4 + len(picture_ids))
        with service.db():
            assert not await ReviewMessage.filter(candidate_id=candidate.id, author_staff_id=examiner_row.id).exists()
            assert not await AuditEntry.filter(candidate_id=candidate.id, actor_id=examiner_row.id, actor_role=Role.EXAMINER).exists()
            assert await Attachment.filter(candidate_id=candidate.id, verdict="ACCEPTED").count() == 0
    # Control: the own site's candidate is visible, nested fields and all.
    own = (await examiner.execute(op.CANDIDATE, {"id": own_candidate.id})).payload("candidate")
    assert {a["id"] for m in own["materials"] for a in m["attachments"]} == set(own_ids)
    # The region's admin sees both sites of the region, and not the other region.
    assert (await region_admin.execute(op.CANDIDATE, {"id": far.id})).payload("candidate")
    assert (await region_admin.execute(op.CANDIDATE, {"id": elsewhere.id})).data == {"candidate": None}
    for client in (own_candidate.client, far.client, elsewhere.client, examiner, region_admin):
        await client.aclose()


async def test_queue_events_never_carry_another_sites_candidates(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    region = unique("省")
    examiner = await signed_in(service, (await make_staff(service, region=region, site="甲")).username)
    staff_far = await signed_in(service, (await make_staff(service, region=region, site="乙")).username)
    async with examiner.subscribe(op.QUEUE_EVENTS) as events:
        await subscribed(service, queue_topic(region))
        # Two candidates of site 乙 and one of another region submit; then one of site 甲.
        far, _ = await _submitted_with_pictures(service, categories, region, "乙")
        await _submitted_with_pictures(service, categories, unique("省"), "甲")
        # Returned by their own examiner: another event the 甲 examiner must not see.
        await staff_far.execute(op.RETURN, {"id": far.id, "message": "x"})
        own, _ = await _submitted_with_pictures(service, categories, region, "甲")
        event = (await events.next(within=20))["data"]["queueEvents"]
        assert event["candidate"]["id"] == own.id
        assert event["candidate"]["site"] == "甲"
        assert await events.nothing_within(0.5)
        TALLY.add("cross-site attempts", 3)
    for client in (examiner, staff_far, far.client, own.client):
        await client.aclose()


async def test_review_events_reach_only_their_candidate(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    watcher_row = await make_candidate(service)
    watcher = await signed_in(service, watcher_row.username)
    examiner = await signed_in(service, (await make_staff(service)).username)
    async with watcher.subscribe(op.REVIEW_EVENTS) as events:
        await subscribed(service, candidate_topic(watcher_row.id))
        other, _ = await _submitted_with_pictures(service, categories, "山东省", "济南")
        await examiner.execute(op.FEEDBACK, {"id": other.id, "body": "私信"})
        assert await events.nothing_within(1.0)
        TALLY.add("cross-candidate attempts", 2)
    for client in (watcher, examiner, other.client):
        await client.aclose()


async def test_every_role_is_kept_to_its_own_operations(
    service: Service, examiner_client: SignedInStaff, candidate_client: SignedInCandidate
) -> None:
    anonymous = service.client()
    candidate_only = [(op.ME, {}), (op.SUBMIT, {}), (op.MARK_READ, {}),
                      (op.UPDATE_PROFILE, {"phone": "13912345678", "address": "x"})]
    staff_only = [(op.QUEUE, {}), (op.CANDIDATE, {"id": "1"}), (op.BY_ADMISSION_NO, {"no": "A1"}),
                  (op.APPROVE, {"id": "1"}), (op.RETURN, {"id": "1", "message": "x"}),
                  (op.REJECT, {"id": "1", "reason": "x"}), (op.FEEDBACK, {"id": "1", "body": "x"}),
                  (op.VERDICT, {"id": str(uuid.uuid4()), "verdict": "ACCEPTED"})]
    for document, variables in candidate_only:
        assert (await examiner_client.client.execute(document, variables)).error_codes == ["FORBIDDEN"]
        assert (await anonymous.execute(document, variables)).error_codes == ["UNAUTHENTICATED"]
        TALLY.add("role attempts", 2)
    for document, variables in staff_only:
        assert (await candidate_client.client.execute(document, variables)).error_codes == ["FORBIDDEN"]
        assert (await anonymous.execute(document, variables)).error_codes == ["UNAUTHENTICATED"]
        TALLY.add("role attempts", 2)
    await anonymous.aclose()


# --- sign-in -------------------------------------------------------------------------------


async def _login_seconds(client: GraphQLClient, username: str, password: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = await client.execute(op.LOGIN, {"u": username, "p": password})
    elapsed = time.perf_counter() - started
    return elapsed, result.payload("login")["errors"][0]["code"]


async def test_login_timing_is_the_same_for_unknown_users_and_wrong_passwords(
    service: Service,
) -> None:
    """A security property, not a speed test: the band is generous, the medians are what count."""
    rows = [await make_candidate(service) for _ in range(20)]
    client = service.client()
    unknown, wrong = [], []
    for row in rows:  # interleaved, so machine noise hits both alike
        seconds, code = await _login_seconds(client, unique("nobody"), "wrong-password")
        assert code == "INVALID_CREDENTIALS"
        unknown.append(seconds)
        seconds, code = await _login_seconds(client, row.username, "wrong-password")
        assert code == "INVALID_CREDENTIALS"
        wrong.append(seconds)
        TALLY.add("sign-in attempts", 2)
    await client.aclose()
    ratio = statistics.median(unknown) / statistics.median(wrong)
    print(f"\nlogin medians: unknown {statistics.median(unknown):.4f}s, wrong {statistics.median(wrong):.4f}s, ratio {ratio:.2f}")
    assert 0.5 <= ratio <= 2.0, (unknown, wrong)


@pytest.fixture(scope="module")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    folder = tmp_path_factory.mktemp("throttle")
    running = await start_service(settings_for(folder, throttle_per_address=20))
    yield running
    await running.stop()


async def test_the_throttle_holds_under_a_burst_from_one_address(strict: Service) -> None:
    with strict.db():
        row = await make_candidate(strict)
    clients = [strict.client() for _ in range(6)]

    async def attempt(i: int) -> str:
        result = await clients[i % len(clients)].execute(
            op.LOGIN, {"u": unique("burst") if i % 2 else row.username, "p": f"wrong{i}"}
        )
        return str(result.payload("login")["errors"][0]["code"])

    codes = await asyncio.gather(*(attempt(i) for i in range(60)))
    TALLY.add("sign-in attempts", 60)
    invalid = codes.count("INVALID_CREDENTIALS")
    limited = codes.count("RATE_LIMITED")
    assert invalid + limited == 60, codes
    assert invalid <= 20, codes
    assert limited >= 40
    # Once the address is spent, the right password is refused too while the window lasts.
    for _ in range(25):
        more = await clients[0].execute(op.LOGIN, {"u": unique("burst"), "p": "wrong"})
        if [e["code"] for e in more.payload("login")["errors"]] == ["RATE_LIMITED"]:
            break
    refused = await clients[0].execute(op.LOGIN, {"u": row.username, "p": PASSWORD})
    assert [e["code"] for e in refused.payload("login")["errors"]] == ["RATE_LIMITED"]
    assert refused.payload("login")["token"] is None
    for client in clients:
        await client.aclose()
