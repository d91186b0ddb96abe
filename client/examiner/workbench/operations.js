// The workbench's GraphQL operations: named, so each reads plainly in GraphiQL's history.

const ERRORS = "errors { code message field }";
const CLAIM = "claim { examinerName mine claimedAt expiresAt }";

/** One row of the queue: what the list shows, and what a QueueEvent brings. */
const QUEUE_ROW = `id name admissionNo region site status submittedAt replyDeadline ${CLAIM}`;

/**
 * What a picture card shows. Another field a card should show is added here and read in
 * pictures.js `PICTURE_NOTES` (as the quality warnings and the look-alikes are).
 */
export const PICTURE_FIELDS = `id url byteSize width height uploadedAt contentType verdict verdictNote verdictReasons { code label }
      quality { sharpness brightness glare warnings }
      lookalikeCount lookalikes { candidateId admissionNo candidateName categoryName distance }`;

export const LOGIN = `mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token role expiresAt ${ERRORS} }
}`;

export const LOGOUT = "mutation Logout { logout }";

export const REVIEW_SCOPE = `query ReviewScope {
  reviewStats { region site counts { status count } }
  verdictReasons { code label }
}`;

export const QUEUE = `query WorkbenchQueue($status: [ReviewStatus!], $site: String, $search: String, $overdue: Boolean!, $after: String) {
  reviewQueue(status: $status, site: $site, search: $search, overdue: $overdue, first: 50, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${QUEUE_ROW} } }
  }
}`;

export const QUEUE_EVENTS = `subscription WorkbenchQueueEvents {
  queueEvents { status at candidate { ${QUEUE_ROW} } }
}`;

/** Everything the candidate view shows. */
const CANDIDATE_FIELDS = `${QUEUE_ROW}
    examCategoryName stage locked
    materials { category { id name } required attachments { ${PICTURE_FIELDS} } }
    messages(first: 50) { id kind body authorName createdAt }
    history { at action actorName fromStatus toStatus note attachmentId }
    changesSinceLastReturn { since removedCount added { id } }`;

export const CANDIDATE = `query WorkbenchCandidate($id: ID!) {
  candidate(id: $id) {
    ${CANDIDATE_FIELDS}
  }
}`;

/** The claimed candidate comes whole: its pictures start loading without another round trip. */
export const CLAIM_NEXT = `mutation ClaimNext($site: String) {
  claimNext(site: $site) {
    candidate {
      ${CANDIDATE_FIELDS}
    }
    ${ERRORS}
  }
}`;

export const CLAIM_CANDIDATE = `mutation ClaimCandidate($candidateId: ID!) {
  claimCandidate(candidateId: $candidateId) { candidate { id ${CLAIM} } ${ERRORS} }
}`;

export const RELEASE_CANDIDATE = `mutation ReleaseCandidate($candidateId: ID!) {
  releaseCandidate(candidateId: $candidateId) { candidate { id ${CLAIM} } ${ERRORS} }
}`;

export const SET_VERDICT = `mutation SetAttachmentVerdict($attachmentId: ID!, $verdict: AttachmentVerdict!, $reasons: [String!], $note: String) {
  setAttachmentVerdict(attachmentId: $attachmentId, verdict: $verdict, reasons: $reasons, note: $note) {
    attachment { ${PICTURE_FIELDS} }
    ${ERRORS}
  }
}`;

export const RETURN_DRAFT = `query ReturnMessageDraft($candidateId: ID!) {
  returnMessageDraft(candidateId: $candidateId) { message categoryIds attachmentIds }
}`;

export const RETURN = `mutation ReturnForCorrection($candidateId: ID!, $message: String!, $categoryIds: [ID!]) {
  returnForCorrection(candidateId: $candidateId, message: $message, categoryIds: $categoryIds) {
    candidate { id name status }
    ${ERRORS}
  }
}`;

export const APPROVE = `mutation ApproveCandidate($candidateId: ID!) {
  approveCandidate(candidateId: $candidateId) { candidate { id name status } ${ERRORS} }
}`;

export const REJECT = `mutation RejectCandidate($candidateId: ID!, $reason: String!) {
  rejectCandidate(candidateId: $candidateId, reason: $reason) { candidate { id name status } ${ERRORS} }
}`;

export const FEEDBACK = `mutation SendFeedback($candidateId: ID!, $body: String!) {
  sendFeedback(candidateId: $candidateId, body: $body) { message { id } ${ERRORS} }
}`;
