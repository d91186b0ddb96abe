// The page's one store: what the candidate sees, changed only by the functions below, each of
// which tells the views that show the part it changed. And the one funnel for failed requests.

import { Cancelled, graphql, NetworkError, RequestError, session, SignedOut } from "./api.js";
import { hideBanner, showRetry } from "./dialogs.js";
import * as op from "./operations.js";

function blank() {
  return {
    me: null,
    loadedAt: 0,
    editingProfile: false,
    fieldErrors: {}, // "phone" | "address" -> [message]
    cardErrors: {}, // category id -> [message]
    cardNotices: {}, // category id -> message
    notice: null, // a message for the whole page; on the sign-in form, its error line
    uploading: null, // { categoryId, progress, cancel }
    liveState: "connecting",
  };
}

/** Read it anywhere; change it only here. */
export const state = blank();

// page: everything, laid out again; standing: status, lock and messages; the rest say themselves.
const TOPICS = ["page", "notice", "standing", "messages", "profile", "materials", "progress", "live", "signedOut"];
const listeners = new Map(TOPICS.map((topic) => [topic, []]));

function listenersOf(topic) {
  // A misspelt topic would otherwise leave a view silently stale.
  if (!listeners.has(topic)) throw new Error(`unknown topic: ${topic}`);
  return listeners.get(topic);
}

/** Call listener() after each change of `topic`. */
export function on(topic, listener) {
  listenersOf(topic).push(listener);
}

function emit(...topics) {
  for (const topic of topics) {
    for (const listener of listenersOf(topic)) listener();
  }
}

// ---------------------------------------------------------------- session and the candidate

export function signedIn(token) {
  session.token = token;
  state.notice = null; // the sign-in form's last error is not the page's
}

export function signOut(message = null) {
  session.token = null;
  Object.assign(state, blank(), { notice: message });
  emit("signedOut");
}

export function loaded(me) {
  state.me = me;
  state.loadedAt = Date.now();
  emit("page");
}

export async function refresh() {
  loaded((await graphql(op.ME)).me);
}

export function profileShown() {
  return !state.me.profileComplete || state.editingProfile;
}

export function editProfile(editing) {
  state.editingProfile = editing;
  if (!editing) state.fieldErrors = {};
  emit("page");
}

export function profileSaved(candidate) {
  Object.assign(state.me, candidate);
  state.editingProfile = false;
  state.fieldErrors = {};
  emit("page");
}

// ---------------------------------------------------------------- status and messages

function hasNewStanding(status, locked) {
  return state.me.status !== status || state.me.locked !== locked;
}

/**
 * One live event: its message, the status and lock. Returns whether status or lock changed:
 * then slots, verdict notes and deadlines changed too, and the caller reads everything again.
 */
export function eventArrived({ status, locked, message }) {
  const me = state.me;
  const changed = hasNewStanding(status, locked);
  if (!me.messages.some((m) => m.id === message.id)) {
    me.messages.unshift(message);
    if (!message.readAt) me.unreadMessageCount += 1;
  }
  Object.assign(me, { status, locked });
  emit("standing");
  return changed;
}

/** Status and messages read again after a (re)connection; returns whether status or lock changed. */
export function standingRead(standing) {
  const changed = hasNewStanding(standing.status, standing.locked);
  Object.assign(state.me, standing);
  emit("standing");
  return changed;
}

/** The queue position read again (at most once a minute while SUBMITTED). */
export function queuePositionRead({ status, queuePosition }) {
  if (!state.me || state.me.status !== status) return; // the status moved on: a full read follows
  state.me.queuePosition = queuePosition;
  emit("standing");
}

export function messagesRead(unreadMessageCount) {
  const now = new Date().toISOString();
  for (const message of state.me.messages) message.readAt ||= now;
  state.me.unreadMessageCount = unreadMessageCount;
  emit("messages");
}

export function setLiveState(value) {
  state.liveState = value;
  emit("live");
}

// ---------------------------------------------------------------- uploads, one at a time

export function startUpload(categoryId, cancel) {
  state.uploading = { categoryId, progress: 0, cancel };
  emit("materials");
}

export function uploadProgress(categoryId, fraction) {
  if (!state.uploading || state.uploading.categoryId !== categoryId) return;
  state.uploading.progress = fraction;
  emit("progress");
}

export function endUpload() {
  state.uploading = null;
  emit("materials");
}

// ---------------------------------------------------------------- notices and errors

export function setNotice(message) {
  state.notice = message;
  emit("notice");
}

export function setCardErrors(categoryId, messages) {
  state.cardErrors[categoryId] = messages;
  delete state.cardNotices[categoryId];
  emit("materials");
}

export function setCardNotice(categoryId, message) {
  state.cardNotices[categoryId] = message;
  emit("materials");
}

/** Before a new try on one card: its old errors and the page notice go. */
export function clearCard(categoryId) {
  delete state.cardErrors[categoryId];
  delete state.cardNotices[categoryId];
  state.notice = null;
  emit("notice", "materials");
}

export function clearProblems() {
  Object.assign(state, { cardErrors: {}, cardNotices: {}, fieldErrors: {}, notice: null });
  emit("notice", "materials", "profile");
}

// Fields that name the card the request was about.
const CARD_FIELDS = ["categoryId", "file", "id"];

/**
 * Put a payload's `errors` ({code, message, field}) where the person looks: `materials.<id>` on
 * that card, phone and address under their field (opening the form), categoryId, file and id on
 * the card of `categoryId`, anything else in the page notice. Returns whether there were any.
 * summary: the page notice when every error found a place of its own.
 */
export function reportErrors(errors, { categoryId = null, summary = null } = {}) {
  if (!errors.length) return false;
  const cards = {};
  const fields = {};
  const general = [];
  for (const { message, field } of errors) {
    const name = field || "";
    if (name.startsWith("materials.")) (cards[name.slice("materials.".length)] ||= []).push(message);
    else if (name === "phone" || name === "address") (fields[name] ||= []).push(message);
    else if (categoryId !== null && CARD_FIELDS.includes(name)) (cards[categoryId] ||= []).push(message);
    else general.push(message);
  }
  const topics = [];
  if (Object.keys(cards).length) {
    for (const [id, messages] of Object.entries(cards)) {
      state.cardErrors[id] = messages;
      delete state.cardNotices[id];
    }
    topics.push("materials");
  }
  if (Object.keys(fields).length) {
    state.fieldErrors = fields;
    // The errors need the form: open it when it is closed, else show them in the open one.
    topics.push(profileShown() ? "profile" : "page");
    state.editingProfile = true;
  }
  if (general.length || summary) {
    state.notice = general.length ? general.join(" ") : summary;
    topics.push("notice");
  }
  emit(...topics);
  return true;
}

/**
 * The one place a failed request turns into what the person sees. categoryId: the request was
 * about that card, so its message goes there. retry: what the banner's 重试 does; without it a
 * lost connection shows nothing (the live socket tries again by itself).
 */
export function handleError(error, { retry = null, categoryId = null } = {}) {
  if (error instanceof NetworkError) {
    if (categoryId !== null) setCardErrors(categoryId, [error.message]);
    if (retry) showRetry(error.message, retry, error.requestId);
  } else if (error instanceof SignedOut) {
    signOut(error.message);
  } else if (error instanceof RequestError) {
    if (categoryId !== null) setCardErrors(categoryId, [error.message]);
    else if (state.me || !session.token) setNotice(error.message);
    else signOut(error.message); // signed in, yet the page never loaded: the sign-in form says why
  } else if (error instanceof Cancelled && categoryId !== null) {
    setCardNotice(categoryId, error.message);
  } else {
    throw error;
  }
}

/** Run an action; a lost connection or 5xx offers a retry (of the same action), never a blank page. */
export async function attempt(action, options = {}) {
  try {
    const result = await action();
    hideBanner();
    return result;
  } catch (error) {
    handleError(error, { retry: () => attempt(action, options), ...options });
    return undefined;
  }
}
