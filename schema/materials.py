"""Material categories and pictures."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.context import Context
from core.security import sign_path, staff_viewer
from models import Attachment as AttachmentRow
from models import Candidate as CandidateRow
from models import MaterialCategory as CategoryRow
from resolvers import materials, review
from resolvers.lookalikes import Lookalike as FoundLookalike
from resolvers.lookalikes import Lookalikes as FoundLookalikes
from resolvers.lookalikes import lookalikes_for
from schema.enums import AttachmentVerdict, QualityWarning
from schema.errors import Payload, UserError, payload_mutation
from schema.permissions import IsCandidate, IsSignedIn

if TYPE_CHECKING:
    from schema.review import VerdictReason


@strawberry.type(name="MaterialCategory", description="What a category asks for, independent of any candidate.")
class MaterialCategory:
    row: strawberry.Private[CategoryRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def code(self) -> str:
        return self.row.code

    @strawberry.field(description="e.g. 身份证明")
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def instructions(self) -> str:
        return self.row.instructions

    @strawberry.field(description="An example picture (示例) to show next to the upload slots.")
    def example_url(self, info: Info[Context, Any]) -> str | None:
        if not self.row.example_key:
            return None
        return f"{info.context.base_url()}/examples/{self.row.id}"

    @strawberry.field
    def min_count(self) -> int:
        return self.row.min_count

    @strawberry.field
    def max_count(self) -> int:
        return self.row.max_count

    @strawberry.field(description="Largest accepted file, in bytes (204800 by default).")
    def max_bytes(self) -> int:
        return self.row.max_bytes

    @strawberry.field(description="Accepted formats by content, lower case: jpeg, png.")
    def formats(self) -> list[str]:
        return list(self.row.formats)


def picture_url(ctx: Context, attachment_id: str, variant: str) -> str:
    """A signed link; staff's links name them, so openings of originals can be logged."""
    settings = ctx.services.settings
    path = f"/pictures/{attachment_id}/{variant}"
    staff = ctx.viewer.staff if ctx.viewer is not None else None
    viewer = staff_viewer(staff.id) if staff is not None else ""
    return ctx.base_url() + sign_path(
        settings.secret_key, path, settings.picture_url_ttl_seconds, viewer=viewer
    )


@strawberry.type(description="Measured once, at upload, on the upright picture.")
class PictureQuality:
    sharpness: float = strawberry.field(
        description="Higher is sharper: variance of the Laplacian of the grey picture scaled to a fixed size."
    )
    brightness: float = strawberry.field(description="Mean grey level, 0 to 255.")
    glare: float = strawberry.field(description="Share of blown-out (near-white) pixels, 0 to 1.")
    warnings: list[QualityWarning] = strawberry.field(description="Empty when nothing looks wrong.")


@strawberry.type(
    description="Another stored picture that looks the same (perceptual hashes within a small distance)."
)
class Lookalike:
    found: strawberry.Private[FoundLookalike]
    category_row: strawberry.Private[CategoryRow]
    owner_id: strawberry.Private[int]  # whose picture was looked up

    @strawberry.field(description="The other picture's owner.")
    def candidate_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.found.candidate.id))

    @strawberry.field
    def admission_no(self) -> str:
        return self.found.candidate.admission_no

    @strawberry.field
    def candidate_name(self) -> str:
        return self.found.candidate.name

    @strawberry.field
    def category_name(self) -> str:
        return self.category_row.name

    @strawberry.field(
        description="Bits that differ between the two 64-bit perceptual hashes; 0 is the same picture."
    )
    def distance(self) -> int:
        return self.found.match.distance

    @strawberry.field(description="The other picture is this same candidate's (an earlier upload).")
    def same_candidate(self) -> bool:
        return self.found.candidate.id == self.owner_id


@strawberry.type(name="Attachment", description="One uploaded picture.")
class Attachment:
    row: strawberry.Private[AttachmentRow]
    owner: strawberry.Private[CandidateRow]
    category_row: strawberry.Private[CategoryRow]
    # lookalikes and lookalikeCount share one lookup per picture and request.
    _lookalikes: strawberry.Private[asyncio.Task[FoundLookalikes] | None] = None

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def category(self) -> MaterialCategory:
        return MaterialCategory(row=self.category_row)

    @strawberry.field(description="A short-lived signed address of the stored picture.")
    def url(self, info: Info[Context, Any]) -> str:
        return picture_url(info.context, str(self.row.id), "original")

    @strawberry.field(description="A short-lived signed address of a small preview.")
    def thumbnail_url(self, info: Info[Context, Any]) -> str:
        return picture_url(info.context, str(self.row.id), "thumbnail")

    @strawberry.field(description="image/jpeg or image/png, from the content itself.")
    def content_type(self) -> str:
        return self.row.content_type

    @strawberry.field
    def byte_size(self) -> int:
        return self.row.byte_size

    @strawberry.field
    def width(self) -> int:
        return self.row.width

    @strawberry.field
    def height(self) -> int:
        return self.row.height

    @strawberry.field(description="Hex SHA-256 of the stored bytes.")
    def sha256(self) -> str:
        return self.row.sha256

    @strawberry.field
    def uploaded_at(self) -> datetime:
        return self.row.uploaded_at

    @strawberry.field
    def locked(self) -> bool:
        return materials.attachment_locked(self.owner, self.row)

    @strawberry.field
    def verdict(self) -> AttachmentVerdict:
        return self.row.verdict

    @strawberry.field(description="The examiner's note on this picture, shown to the candidate.")
    def verdict_note(self) -> str | None:
        return self.row.verdict_note

    @strawberry.field(description="Measured once, at upload, on the upright picture.")
    def quality(self) -> PictureQuality:
        row = self.row
        # Pictures stored before the measures existed read as unmeasured: zeros, no warnings.
        return PictureQuality(
            sharpness=row.sharpness or 0.0,
            brightness=row.brightness or 0.0,
            glare=row.glare or 0.0,
            warnings=[QualityWarning(w) for w in row.quality_warnings or []],
        )

    def _found(self, info: Info[Context, Any]) -> asyncio.Task[FoundLookalikes]:
        if self._lookalikes is None:
            self._lookalikes = asyncio.ensure_future(
                lookalikes_for(info.context, self.row, self.owner)
            )
        return self._lookalikes

    @strawberry.field(
        description="For staff only (empty for candidates): look-alike pictures within the caller's scope."
    )
    async def lookalikes(self, info: Info[Context, Any]) -> list[Lookalike]:
        catalog = await info.context.catalog()
        found = await self._found(info)
        return [
            Lookalike(
                found=f, category_row=catalog.categories[f.match.category_id], owner_id=self.owner.id
            )
            for f in found.in_scope
        ]

    @strawberry.field(description="For staff only (0 for candidates): all look-alikes, in scope or not.")
    async def lookalike_count(self, info: Info[Context, Any]) -> int:
        return (await self._found(info)).count

    @strawberry.field(description="The reason codes given with the last verdict, with their labels.")
    async def verdict_reasons(
        self, info: Info[Context, Any]
    ) -> list[Annotated[VerdictReason, strawberry.lazy("schema.review")]]:
        from schema.review import VerdictReason

        codes = (await review.reasons_of([str(self.row.id)])).get(str(self.row.id), [])
        labels = {r.code: r.label for r in review.reason_catalog(info.context.services.settings)}
        return [VerdictReason(code=code, label=labels.get(code, code)) for code in codes]


@strawberry.type(name="CandidateMaterial", description="One category's material for one candidate.")
class CandidateMaterial:
    view: strawberry.Private[materials.MaterialView]
    owner: strawberry.Private[CandidateRow]

    @strawberry.field
    def category(self) -> MaterialCategory:
        return MaterialCategory(row=self.view.requirement.category)

    @strawberry.field
    def required(self) -> bool:
        return self.view.requirement.required

    @strawberry.field
    def attachments(self) -> list[Attachment]:
        category = self.view.requirement.category
        return [Attachment(row=a, owner=self.owner, category_row=category) for a in self.view.attachments]

    @strawberry.field(description="How many more files may be added right now (0 when locked or full).")
    def remaining(self) -> int:
        return self.view.remaining

    @strawberry.field
    def locked(self) -> bool:
        return self.view.locked


@strawberry.type
class AttachmentPayload(Payload):
    attachment: Attachment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteAttachmentPayload(Payload):
    deleted_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def attachment_type(ctx: Context, row: AttachmentRow, owner: CandidateRow) -> Attachment:
    catalog = await ctx.catalog()
    return Attachment(row=row, owner=owner, category_row=catalog.categories[row.category_id])


@strawberry.type
class MaterialQuery:
    @strawberry.field(description="Every category the service knows.", permission_classes=[IsSignedIn])
    async def categories(self, info: Info[Context, Any]) -> list[MaterialCategory]:
        catalog = await info.context.catalog()
        rows = sorted(catalog.categories.values(), key=lambda c: (c.position, c.id))
        return [MaterialCategory(row=row) for row in rows]


@strawberry.type
class MaterialMutation:
    @payload_mutation("Add a picture to one of the candidate's materials (CANDIDATE).", [IsCandidate])
    async def upload_attachment(
        self, info: Info[Context, Any], category_id: strawberry.ID, file: Upload
    ) -> AttachmentPayload:
        row, owner = await materials.upload_attachment(info.context, category_id, file)
        return AttachmentPayload(attachment=await attachment_type(info.context, row, owner))

    @payload_mutation("Remove an unlocked picture (CANDIDATE).", [IsCandidate])
    async def delete_attachment(
        self, info: Info[Context, Any], id: strawberry.ID
    ) -> DeleteAttachmentPayload:
        deleted = await materials.delete_attachment(info.context, id)
        return DeleteAttachmentPayload(deleted_id=strawberry.ID(deleted))
