// The GraphQL documents the page sends: only the public contract.

const ERRORS = "errors { code message field }";

const ATTACHMENT = `
  id url thumbnailUrl contentType byteSize width height uploadedAt locked verdict verdictNote
  quality { warnings }
`;

const MESSAGES = "messages(first: 50) { id kind body authorName createdAt readAt }";

const QUEUE_POSITION_FIELDS = "queuePosition { ahead estimatedReviewBy }";

// Everything about the candidate that the header, status and messages show.
const STANDING = `
  status locked submittedAt replyDeadline unreadMessageCount ${QUEUE_POSITION_FIELDS} ${MESSAGES}
`;

const CANDIDATE = `
  id username name admissionNo examCategoryCode examCategoryName region site stage
  registeredAt phone address profileComplete ${STANDING}
  materials {
    category { id code name instructions exampleUrl minCount maxCount maxBytes formats }
    required remaining locked
    attachments { ${ATTACHMENT} }
  }
`;

export const ME = `query Me { me { ${CANDIDATE} } }`;

export const STANDING_ONLY = `query Standing { me { ${STANDING} } }`;

export const QUEUE_POSITION = `query QueuePosition { me { status ${QUEUE_POSITION_FIELDS} } }`;

export const LOGIN = `
mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) { token role ${ERRORS} }
}`;

export const LOGOUT = "mutation Logout { logout }";

export const UPDATE_PROFILE = `
mutation UpdateProfile($phone: String!, $address: String!) {
  updateProfile(input: { phone: $phone, address: $address }) {
    candidate { phone address profileComplete } ${ERRORS}
  }
}`;

export const UPLOAD = `
mutation UploadAttachment($categoryId: ID!, $file: Upload!) {
  uploadAttachment(categoryId: $categoryId, file: $file) { attachment { id } ${ERRORS} }
}`;

export const DELETE = `
mutation DeleteAttachment($id: ID!) { deleteAttachment(id: $id) { deletedId ${ERRORS} } }`;

export const SUBMIT = `
mutation SubmitForReview { submitForReview { candidate { ${CANDIDATE} } ${ERRORS} } }`;

export const MARK_READ = `
mutation MarkMessagesRead($ids: [ID!]) { markMessagesRead(ids: $ids) { unreadMessageCount ${ERRORS} } }`;

export const REVIEW_EVENTS = `
subscription ReviewEvents {
  reviewEvents { status locked message { id kind body authorName createdAt readAt } }
}`;
