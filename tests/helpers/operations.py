"""GraphQL documents the tests share; the same operations the page and GraphiQL send."""

ERRORS = "errors { code message field }"

ATTACHMENT_FIELDS = """
id url thumbnailUrl contentType byteSize width height sha256 uploadedAt locked verdict verdictNote
category { id code name } quality { sharpness brightness glare warnings }
"""

MATERIALS = f"""
materials {{
  category {{ id code name instructions exampleUrl minCount maxCount maxBytes formats }}
  required remaining locked
  attachments {{ {ATTACHMENT_FIELDS} }}
}}
"""

CANDIDATE_FIELDS = f"""
id username name admissionNo examCategoryCode examCategoryName region site stage
registeredAt activatedAt phone address profileComplete status locked submittedAt replyDeadline
unreadMessageCount
messages {{ id kind body authorName createdAt readAt }}
{MATERIALS}
"""

ME = f"query {{ me {{ {CANDIDATE_FIELDS} }} }}"

LOGIN = f"""
mutation($u: String!, $p: String!) {{
  login(username: $u, password: $p) {{ token role expiresAt candidate {{ id activatedAt }} {ERRORS} }}
}}
"""

LOGOUT = "mutation { logout }"

UPDATE_PROFILE = f"""
mutation($phone: String!, $address: String!) {{
  updateProfile(input: {{phone: $phone, address: $address}}) {{
    candidate {{ phone address profileComplete }} {ERRORS}
  }}
}}
"""

UPLOAD = f"""
mutation($categoryId: ID!, $file: Upload!) {{
  uploadAttachment(categoryId: $categoryId, file: $file) {{
    attachment {{ {ATTACHMENT_FIELDS} }} {ERRORS}
  }}
}}
"""

DELETE = f"mutation($id: ID!) {{ deleteAttachment(id: $id) {{ deletedId {ERRORS} }} }}"

SUBMIT = f"mutation {{ submitForReview {{ candidate {{ {CANDIDATE_FIELDS} }} {ERRORS} }} }}"

MARK_READ = f"mutation($ids: [ID!]) {{ markMessagesRead(ids: $ids) {{ unreadMessageCount {ERRORS} }} }}"

RETURN = f"""
mutation($id: ID!, $message: String!, $categoryIds: [ID!]) {{
  returnForCorrection(candidateId: $id, message: $message, categoryIds: $categoryIds) {{
    candidate {{ {CANDIDATE_FIELDS} }} {ERRORS}
  }}
}}
"""

APPROVE = f"""
mutation($id: ID!, $message: String) {{
  approveCandidate(candidateId: $id, message: $message) {{ candidate {{ id status locked }} {ERRORS} }}
}}
"""

REJECT = f"""
mutation($id: ID!, $reason: String!) {{
  rejectCandidate(candidateId: $id, reason: $reason) {{ candidate {{ id status locked }} {ERRORS} }}
}}
"""

FEEDBACK = f"""
mutation($id: ID!, $body: String!) {{
  sendFeedback(candidateId: $id, body: $body) {{ message {{ id kind body authorName }} {ERRORS} }}
}}
"""

VERDICT = f"""
mutation($id: ID!, $verdict: AttachmentVerdict!, $note: String) {{
  setAttachmentVerdict(attachmentId: $id, verdict: $verdict, note: $note) {{
    attachment {{ id verdict verdictNote locked }} {ERRORS}
  }}
}}
"""

CANDIDATE = f"query($id: ID!) {{ candidate(id: $id) {{ {CANDIDATE_FIELDS} }} }}"

BY_ADMISSION_NO = "query($no: String!) { candidateByAdmissionNo(admissionNo: $no) { id name } }"

QUEUE = """
query($status: [ReviewStatus!], $site: String, $search: String, $first: Int, $after: String) {
  reviewQueue(status: $status, site: $site, search: $search, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id name status submittedAt site } }
  }
}
"""

CATEGORIES = "query { categories { id code name minCount maxCount maxBytes formats exampleUrl } }"

REVIEW_EVENTS = """
subscription { reviewEvents { status locked message { id kind body authorName createdAt } } }
"""

QUEUE_EVENTS = "subscription { queueEvents { status at candidate { id name site } } }"

CLAIM_FIELDS = "claim { examinerName mine claimedAt expiresAt }"

CLAIM = f"""
mutation($id: ID!) {{
  claimCandidate(candidateId: $id) {{ candidate {{ id status {CLAIM_FIELDS} }} {ERRORS} }}
}}
"""

CLAIM_NEXT = f"""
mutation($site: String) {{
  claimNext(site: $site) {{ candidate {{ id status site {CLAIM_FIELDS} }} {ERRORS} }}
}}
"""

RELEASE = f"""
mutation($id: ID!) {{
  releaseCandidate(candidateId: $id) {{ candidate {{ id status {CLAIM_FIELDS} }} {ERRORS} }}
}}
"""

LOOKALIKE_FIELDS = """
lookalikeCount lookalikes { candidateId admissionNo candidateName categoryName distance sameCandidate }
"""

CANDIDATE_LOOKALIKES = f"""
query($id: ID!) {{
  candidate(id: $id) {{ materials {{ category {{ code }} attachments {{ id {LOOKALIKE_FIELDS} }} }} }}
}}
"""

MY_LOOKALIKES = f"query {{ me {{ materials {{ attachments {{ id {LOOKALIKE_FIELDS} }} }} }} }}"

MY_QUEUE_POSITION = "query { me { status queuePosition { ahead estimatedReviewBy } } }"

CANDIDATE_QUEUE_POSITION = """
query($id: ID!) { candidate(id: $id) { status queuePosition { ahead estimatedReviewBy } } }
"""
