// The candidate's upload page: sign in, profile, registration, messages, materials, submit.

import { Cancelled, graphql, NetworkError, RequestError, session, SignedOut, upload } from "./api.js";
import { LiveEvents } from "./live.js";
import * as op from "./operations.js";
import { kb, PictureProblem, preparePicture } from "./picture.js";
import { formatTime, lockWords, MESSAGE_KIND_WORDS, STATUS_WORDS } from "./words.js";

const app = document.getElementById("app");
const account = document.getElementById("account");
const banner = document.getElementById("banner");
// Signed picture addresses live ten minutes; re-read them before showing a big picture later.
const URL_FRESH_MS = 8 * 60 * 1000;

const state = {
  me: null,
  loadedAt: 0,
  editingProfile: false,
  fieldErrors: {}, // "phone" | "address" -> [message]
  cardErrors: {}, // category id -> [message]
  cardNotices: {}, // category id -> message
  notice: null, // a message for the whole page
  uploading: null, // { categoryId, progress, cancel }
  live: null,
  liveState: "connecting",
};

// ---------------------------------------------------------------- helpers

function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Replace a box's children, skipping the null and false that conditional parts leave. */
function fill(box, ...children) {
  box.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function section(id) {
  let found = document.getElementById(id);
  if (!found) found = h("section", { id });
  return found;
}

function errorList(messages, extra = {}) {
  if (!messages || !messages.length) return null;
  return h("ul", { class: "errors", role: "alert", ...extra }, messages.map((m) => h("li", {}, m)));
}

// ---------------------------------------------------------------- banner and dialogs

function showRetry(message, retry) {
  banner.replaceChildren(
    h("span", { class: "banner-text" }, message),
    h("button", {
      type: "button",
      class: "button small",
      onclick: () => {
        hideBanner();
        retry();
      },
    }, "重试"),
  );
  banner.hidden = false;
}

function hideBanner() {
  banner.hidden = true;
  banner.replaceChildren();
}

function modal(content, { onclose } = {}) {
  const dialog = h("dialog", { class: "dialog" }, content);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onclose) onclose(dialog.returnValue);
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

function confirmDialog({ title, body, ok, danger = false }) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog" },
      h("h2", {}, title),
      h("p", {}, body),
      h("div", { class: "dialog-actions" },
        h("button", { value: "cancel", class: "button secondary" }, "取消"),
        h("button", { value: "ok", class: danger ? "button danger" : "button" }, ok),
      ),
    );
    modal(form, { onclose: (value) => resolve(value === "ok") });
  });
}

function previewDialog(prepared, category) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(prepared.blob);
    const changes = [];
    if (prepared.rotated) changes.push("已按拍摄方向转正");
    if (prepared.shrunk) changes.push(`已压缩到 ${kb(category.maxBytes)} 以内`);
    const facts = [h("li", { class: "size-before" }, `原图大小：${kb(prepared.before)}`)];
    facts.push(h("li", { class: "size-after" },
      changes.length
        ? `处理后：${kb(prepared.after)}，${prepared.width}×${prepared.height} 像素（${changes.join("，")}）`
        : `无需处理：${kb(prepared.after)}，${prepared.width}×${prepared.height} 像素`));
    const form = h("form", { method: "dialog", class: "preview" },
      h("h2", {}, `上传到「${category.name}」`),
      h("img", { src: url, alt: "即将上传的图片", class: "preview-image" }),
      h("ul", { class: "facts" }, facts),
      h("p", { class: "hint" }, "请确认照片清晰、端正、完整，再点「确认上传」。"),
      h("div", { class: "dialog-actions" },
        h("button", { value: "cancel", class: "button secondary" }, "取消"),
        h("button", { value: "ok", class: "button" }, "确认上传"),
      ),
    );
    modal(form, {
      onclose: (value) => {
        URL.revokeObjectURL(url);
        resolve(value === "ok");
      },
    });
  });
}

function viewPicture(title, url) {
  const form = h("form", { method: "dialog", class: "viewer" },
    h("h2", {}, title),
    h("img", { src: url, alt: title }),
    h("div", { class: "dialog-actions" }, h("button", { value: "close", class: "button" }, "关闭")),
  );
  modal(form);
}

// ---------------------------------------------------------------- running actions

/** Run an action; a lost connection or 5xx offers a retry, never a blank page. */
async function attempt(action) {
  try {
    const result = await action();
    hideBanner();
    return result;
  } catch (error) {
    if (error instanceof NetworkError) {
      showRetry(error.message, () => attempt(action));
    } else if (error instanceof SignedOut) {
      signOut(error.message);
    } else if (error instanceof RequestError) {
      state.notice = error.message;
      renderNotice();
    } else {
      throw error;
    }
    return undefined;
  }
}

async function loadMe() {
  const data = await graphql(op.ME);
  state.me = data.me;
  state.loadedAt = Date.now();
}

async function refresh() {
  await loadMe();
  renderPage({ keepProfileForm: true });
}

// ---------------------------------------------------------------- sign in and out

function renderLogin(message = null) {
  account.replaceChildren();
  const error = h("p", { class: "form-error", role: "alert", id: "login-error" }, message || "");
  error.hidden = !message;
  const form = h("form", { class: "card login", novalidate: true },
    h("h2", {}, "考生登录"),
    h("p", { class: "hint" }, "请使用报名系统的用户名和密码登录，首次登录即激活账号。"),
    h("label", { for: "username" }, "用户名"),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password" }, "密码"),
    h("input", {
      id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
    }),
    error,
    h("button", { type: "submit", class: "button wide" }, "登录"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      error.textContent = "请输入用户名和密码。";
      error.hidden = false;
      return;
    }
    attempt(() => signIn(username, password, error));
  });
  app.replaceChildren(form);
  form.username.focus();
}

async function signIn(username, password, error) {
  const payload = (await graphql(op.LOGIN, { username, password })).login;
  if (payload.errors.length) {
    error.textContent = payload.errors.map((e) => e.message).join(" ");
    error.hidden = false;
    return;
  }
  if (payload.role !== "CANDIDATE") {
    error.replaceChildren("此页面供考生上传材料。考务人员请使用 ", h("a", { href: "/graphql" }, "GraphiQL"), "。");
    error.hidden = false;
    return;
  }
  session.token = payload.token;
  await enter();
}

async function enter() {
  await loadMe();
  renderPage();
  startLive();
}

function signOut(message = null) {
  if (state.live) state.live.stop();
  session.token = null;
  Object.assign(state, {
    me: null, live: null, editingProfile: false, fieldErrors: {}, cardErrors: {}, cardNotices: {},
    notice: null, uploading: null,
  });
  hideBanner();
  renderLogin(message);
}

async function logOut() {
  try {
    await graphql(op.LOGOUT);
  } catch {
    // Signing out locally is what matters; the token expires anyway.
  }
  signOut();
}

// ---------------------------------------------------------------- live events

function startLive() {
  if (state.live) state.live.stop();
  state.live = new LiveEvents({
    query: op.REVIEW_EVENTS,
    token: session.token,
    onEvent: (data) => applyEvent(data.reviewEvents),
    onConnected: () => catchUp(),
    onState: (value) => {
      state.liveState = value;
      renderLiveState();
    },
    onSignedOut: () => signOut("登录已过期，请重新登录。"),
  });
  state.live.start();
}

function addMessage(message) {
  const me = state.me;
  if (me.messages.some((m) => m.id === message.id)) return;
  me.messages.unshift(message);
  if (!message.readAt) me.unreadMessageCount += 1;
}

function applyEvent(event) {
  if (!state.me || !event) return;
  const changed = state.me.status !== event.status || state.me.locked !== event.locked;
  addMessage(event.message);
  state.me.status = event.status;
  state.me.locked = event.locked;
  renderRegistration();
  renderMessages();
  // Locks, slots, verdict notes and deadlines changed with the status: read them again.
  if (changed) attempt(refresh);
}

/** After every (re)connection: read messages and status again, so nothing sent meanwhile is missed. */
async function catchUp() {
  if (!state.me) return;
  let standing;
  try {
    standing = (await graphql(op.STANDING_ONLY)).me;
  } catch (error) {
    if (error instanceof SignedOut) signOut(error.message);
    return; // the socket itself retries; the next connection catches up again
  }
  if (!state.me) return;
  const changed = standing.status !== state.me.status || standing.locked !== state.me.locked;
  Object.assign(state.me, standing);
  renderRegistration();
  renderMessages();
  if (changed) attempt(refresh);
}

// ---------------------------------------------------------------- the page

/** keepProfileForm: a refresh from a live event must not wipe what the person is typing. */
function renderPage({ keepProfileForm = false } = {}) {
  const me = state.me;
  account.replaceChildren(
    h("span", { class: "who" }, me.name),
    h("button", { type: "button", class: "link", id: "logout", onclick: logOut }, "退出"),
  );
  const showProfile = !me.profileComplete || state.editingProfile;
  const profile = section("profile");
  const typing = keepProfileForm && profile.isConnected && profile.querySelector("form");
  const parts = [section("notice"), section("registration")];
  if (showProfile) parts.push(profile);
  parts.push(section("messages"), section("materials"));
  app.replaceChildren(...parts);
  renderNotice();
  renderRegistration();
  if (showProfile && !typing) renderProfile();
  renderMessages();
  renderMaterials();
}

function renderNotice() {
  const box = document.getElementById("notice");
  if (!box) return;
  box.className = state.notice ? "notice" : "";
  box.setAttribute("role", "alert");
  fill(box, ...(state.notice
    ? [h("span", {}, state.notice), h("button", {
      type: "button", class: "link", onclick: () => { state.notice = null; renderNotice(); },
    }, "知道了")]
    : []));
}

function lockLine(me) {
  switch (me.status) {
    case "SUBMITTED":
      return `${formatTime(me.submittedAt)} 上报完成，内容已锁定。`;
    case "RETURNED":
      return me.replyDeadline
        ? `材料已退回，请按消息提醒修改，并在 ${formatTime(me.replyDeadline)} 之前重新「提交审核」。`
        : "材料已退回，请按消息提醒修改后重新「提交审核」。";
    case "APPROVED":
      return "审核通过，无需再做任何操作。";
    case "REJECTED":
      return "审核不通过，原因见下方消息。";
    default:
      return "请上传全部带 * 的必传材料，然后点「提交审核」。提交后内容将被锁定。";
  }
}

function renderRegistration() {
  const box = document.getElementById("registration");
  if (!box || !state.me) return;
  const me = state.me;
  const canSubmit = me.status === "DRAFT" || me.status === "RETURNED";
  const row = (label, value, extra = {}) => [h("dt", {}, label), h("dd", extra, value)];
  box.className = "card registration";
  fill(box,
    h("div", { class: "card-head" },
      h("h2", {}, "报名信息"),
      canSubmit
        ? h("button", { type: "button", class: "button", id: "submit", onclick: submit }, "提交审核")
        : null,
    ),
    h("dl", { class: "facts-grid" },
      row("报考类别", `${me.examCategoryCode} ${me.examCategoryName}`),
      row("姓名", me.name),
      row("准考证号", me.admissionNo),
      row("考区", me.region),
      row("考点", me.site),
      row("阶段", me.stage),
      row("报名时间", formatTime(me.registeredAt)),
      row("审核状态", [
        h("span", { class: "status", id: "status", dataset: { status: me.status } }, STATUS_WORDS[me.status] || me.status),
        h("span", { class: "lock", id: "lock", dataset: { locked: String(me.locked) } }, lockWords(me.locked)),
      ]),
    ),
    h("p", { class: `lock-line ${me.status.toLowerCase()}`, id: "lock-line" }, lockLine(me)),
    me.profileComplete
      ? h("p", { class: "profile-line" },
        h("span", {}, `手机号码：${me.phone}`),
        h("span", {}, `联系地址：${me.address}`),
        h("button", {
          type: "button", class: "link", id: "edit-profile",
          onclick: () => { state.editingProfile = true; renderPage(); document.getElementById("phone").focus(); },
        }, "修改"))
      : null,
  );
}

/** draft: what the person typed, kept when the server sends the form back with errors. */
function renderProfile(draft = null) {
  const box = document.getElementById("profile");
  const me = state.me;
  const values = draft || { phone: me.phone || "", address: me.address || "" };
  const errors = state.fieldErrors;
  const form = h("form", { novalidate: true },
    h("h2", {}, me.profileComplete ? "修改个人信息" : "完善个人信息"),
    me.profileComplete ? null : h("p", { class: "hint" }, "请先填写手机号码和联系地址，再上传材料。"),
    h("label", { for: "phone" }, "手机号码", h("span", { class: "req" }, "*")),
    h("input", {
      id: "phone", name: "phone", type: "tel", inputmode: "numeric", maxlength: "11",
      autocomplete: "tel", value: values.phone, "aria-describedby": "phone-hint",
    }),
    h("p", { class: "hint", id: "phone-hint" }, "审核结果会以短信发送到这个手机号码。"),
    errorList(errors.phone, { id: "phone-errors" }),
    h("label", { for: "address" }, "联系地址", h("span", { class: "req" }, "*")),
    h("textarea", { id: "address", name: "address", rows: "2", autocomplete: "street-address" }, values.address),
    errorList(errors.address, { id: "address-errors" }),
    h("div", { class: "form-actions" },
      me.profileComplete
        ? h("button", {
          type: "button", class: "button secondary",
          onclick: () => { state.editingProfile = false; state.fieldErrors = {}; renderPage(); },
        }, "取消")
        : null,
      h("button", { type: "submit", class: "button" }, "保存"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => saveProfile(form.phone.value.trim(), form.address.value.trim()));
  });
  box.className = "card profile";
  fill(box, form);
}

async function saveProfile(phone, address) {
  const payload = (await graphql(op.UPDATE_PROFILE, { phone, address })).updateProfile;
  state.fieldErrors = {};
  if (payload.errors.length) {
    for (const error of payload.errors) {
      const field = error.field === "address" ? "address" : "phone";
      (state.fieldErrors[field] ||= []).push(error.message);
    }
    renderProfile({ phone, address });
    return;
  }
  Object.assign(state.me, payload.candidate);
  state.editingProfile = false;
  renderPage();
}

function renderLiveState() {
  const badge = document.getElementById("live");
  if (!badge) return;
  badge.dataset.live = state.liveState;
  badge.textContent = {
    open: "● 实时更新",
    connecting: "○ 正在连接…",
    retrying: "○ 连接已断开，正在重连…",
  }[state.liveState];
}

function renderMessages() {
  const box = document.getElementById("messages");
  if (!box || !state.me) return;
  const me = state.me;
  const items = me.messages.map((message) =>
    h("li", { class: message.readAt ? "message" : "message unread", dataset: { kind: message.kind, id: message.id } },
      h("div", { class: "message-head" },
        h("span", { class: "kind" }, MESSAGE_KIND_WORDS[message.kind] || message.kind),
        message.readAt ? null : h("span", { class: "unread-badge" }, "未读"),
        h("span", { class: "meta" }, `${message.authorName} · ${formatTime(message.createdAt)}`),
      ),
      h("p", { class: "body" }, message.body),
    ));
  box.className = "card messages";
  fill(box,
    h("div", { class: "card-head" },
      h("h2", {}, "消息提醒 / 反馈意见",
        me.unreadMessageCount ? h("span", { class: "count-badge", id: "unread-count" }, String(me.unreadMessageCount)) : null),
      h("span", { class: "live", id: "live" }),
    ),
    items.length ? h("ol", { class: "message-list" }, items) : h("p", { class: "empty" }, "暂无消息。"),
    me.unreadMessageCount
      ? h("button", { type: "button", class: "link", id: "mark-read", onclick: () => attempt(markRead) }, "全部标为已读")
      : null,
  );
  renderLiveState();
}

async function markRead() {
  const payload = (await graphql(op.MARK_READ, {})).markMessagesRead;
  if (payload.errors.length) {
    state.notice = payload.errors.map((e) => e.message).join(" ");
    renderNotice();
    return;
  }
  const now = new Date().toISOString();
  for (const message of state.me.messages) message.readAt ||= now;
  state.me.unreadMessageCount = payload.unreadMessageCount;
  renderMessages();
}

// ---------------------------------------------------------------- materials

function renderMaterials() {
  const box = document.getElementById("materials");
  if (!box || !state.me) return;
  const me = state.me;
  box.className = "materials";
  if (!me.profileComplete) {
    fill(box, h("p", { class: "card empty" }, "完善个人信息后即可上传材料。"));
    return;
  }
  fill(box, h("h2", { class: "section-title" }, "上传材料"), ...me.materials.map(materialCard));
}

function formatsWords(formats) {
  return formats.map((f) => (f === "jpeg" ? "jpg" : f)).join("、");
}

function materialCard(material) {
  const category = material.category;
  const id = category.id;
  const uploading = state.uploading && state.uploading.categoryId === id ? state.uploading : null;
  const count = material.attachments.length;
  const pictures = material.attachments.map((picture, index) => pictureTile(material, picture, index));
  const example = category.exampleUrl
    ? h("figure", { class: "tile example" },
      h("button", {
        type: "button", class: "tile-button", onclick: () => viewPicture(`「${category.name}」示例`, category.exampleUrl),
      }, h("img", { src: category.exampleUrl, alt: `${category.name}示例`, loading: "lazy" })),
      h("figcaption", {}, "示例"))
    : null;
  let slot = null;
  if (material.remaining > 0 && !uploading) {
    const input = h("input", { type: "file", accept: "image/jpeg,image/png", class: "file-input", hidden: true });
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      input.value = "";
      if (file) choose(material, file);
    });
    slot = h("div", { class: "tile slot" },
      h("button", { type: "button", class: "slot-button", onclick: () => input.click() },
        h("span", { class: "plus" }, "＋"),
        h("span", {}, "上传"),
        count > 0 ? h("small", {}, "可传下一张") : null),
      input);
  }
  const progress = uploading
    ? h("div", { class: "upload-progress", role: "status" },
      h("progress", { max: "100", value: String(Math.round(uploading.progress * 100)), id: `progress-${id}` }),
      h("span", { id: `progress-text-${id}` }, `正在上传 ${Math.round(uploading.progress * 100)}%`),
      h("button", { type: "button", class: "button small secondary", onclick: () => uploading.cancel() }, "取消上传"))
    : null;
  const notice = state.cardNotices[id];
  return h("article", {
    class: `card material${material.locked ? " locked" : ""}`,
    dataset: { category: category.code, categoryId: id },
  },
  h("div", { class: "card-head" },
    h("h3", {}, material.required ? h("span", { class: "req", title: "必传" }, "*") : null, category.name),
    h("span", { class: "material-state" },
      `${count}/${category.maxCount} 张`,
      material.locked ? h("span", { class: "locked-word" }, "已锁定") : null),
  ),
  h("p", { class: "instructions" }, category.instructions),
  h("p", { class: "rules" },
    `${formatsWords(category.formats)} 格式，每张不超过 ${kb(category.maxBytes)}`,
    category.maxCount > 1 ? `，最多 ${category.maxCount} 张` : "",
    "。过大的照片会在上传前自动压缩。"),
  errorList(state.cardErrors[id], { class: "errors card-errors" }),
  notice ? h("p", { class: "card-notice", role: "status" }, notice) : null,
  h("div", { class: "tiles" }, example, pictures, slot),
  progress,
  );
}

function pictureTile(material, picture, index) {
  const category = material.category;
  const label = `「${category.name}」第 ${index + 1} 张`;
  const needsReplacement = picture.verdict === "NEEDS_REPLACEMENT";
  return h("figure", {
    class: `tile picture${needsReplacement ? " needs-replacement" : ""}${picture.locked ? " locked" : ""}`,
    dataset: { attachmentId: picture.id, verdict: picture.verdict },
  },
  h("button", { type: "button", class: "tile-button", onclick: () => openPicture(picture.id, label) },
    h("img", { src: picture.thumbnailUrl, alt: label, loading: "lazy" })),
  picture.locked
    ? h("span", { class: "tile-lock", title: "已锁定", role: "img", "aria-label": "已锁定" })
    : h("button", {
      type: "button", class: "remove", title: "删除", "aria-label": `删除${label}`,
      onclick: () => remove(material, picture, label),
    }, "−"),
  h("figcaption", {}, `第 ${index + 1} 张 · ${kb(picture.byteSize)}`,
    picture.verdict === "ACCEPTED" ? h("span", { class: "accepted" }, " · 已通过") : null),
  needsReplacement
    ? h("p", { class: "verdict-note" }, `需重新上传${picture.verdictNote ? `：${picture.verdictNote}` : ""}`)
    : null,
  );
}

async function openPicture(attachmentId, label) {
  if (Date.now() - state.loadedAt > URL_FRESH_MS) await attempt(refresh);
  const picture = state.me && state.me.materials.flatMap((m) => m.attachments).find((a) => a.id === attachmentId);
  if (picture) viewPicture(label, picture.url);
}

function setCardError(categoryId, messages) {
  state.cardErrors[categoryId] = messages;
  delete state.cardNotices[categoryId];
}

function clearCard(categoryId) {
  delete state.cardErrors[categoryId];
  delete state.cardNotices[categoryId];
  state.notice = null;
  renderNotice();
}

async function choose(material, file) {
  const category = material.category;
  clearCard(category.id);
  let prepared;
  try {
    prepared = await preparePicture(file, category);
  } catch (error) {
    if (!(error instanceof PictureProblem)) throw error;
    setCardError(category.id, [error.message]);
    renderMaterials();
    return;
  }
  if (await previewDialog(prepared, category)) await send(category, prepared);
}

function showProgress(categoryId, fraction) {
  if (!state.uploading || state.uploading.categoryId !== categoryId) return;
  state.uploading.progress = fraction;
  const bar = document.getElementById(`progress-${categoryId}`);
  const text = document.getElementById(`progress-text-${categoryId}`);
  if (bar) bar.value = Math.round(fraction * 100);
  if (text) text.textContent = `正在上传 ${Math.round(fraction * 100)}%`;
}

async function send(category, prepared) {
  const id = category.id;
  const request = upload(op.UPLOAD, { categoryId: id }, prepared.blob, prepared.filename,
    (fraction) => showProgress(id, fraction));
  state.uploading = { categoryId: id, progress: 0, cancel: request.cancel };
  renderMaterials();
  let payload;
  try {
    payload = (await request.promise).uploadAttachment;
  } catch (error) {
    state.uploading = null;
    if (error instanceof Cancelled) {
      state.cardNotices[id] = "已取消上传。";
    } else if (error instanceof NetworkError) {
      setCardError(id, [error.message]);
      showRetry(error.message, () => { clearCard(id); send(category, prepared); });
    } else if (error instanceof SignedOut) {
      signOut(error.message);
      return;
    } else if (error instanceof RequestError) {
      setCardError(id, [error.message]);
    } else {
      throw error;
    }
    renderMaterials();
    return;
  }
  state.uploading = null;
  if (payload.errors.length) setCardError(id, payload.errors.map((e) => e.message));
  else state.cardNotices[id] = `上传成功（${kb(prepared.after)}）。`;
  hideBanner();
  await attempt(refresh);
}

async function remove(material, picture, label) {
  const ok = await confirmDialog({
    title: "删除图片",
    body: `确定删除${label}吗？删除后可以重新上传。`,
    ok: "删除",
    danger: true,
  });
  if (!ok) return;
  const id = material.category.id;
  clearCard(id);
  await attempt(async () => {
    const payload = (await graphql(op.DELETE, { id: picture.id })).deleteAttachment;
    if (payload.errors.length) setCardError(id, payload.errors.map((e) => e.message));
    else state.cardNotices[id] = "已删除。";
    await refresh();
  });
}

// ---------------------------------------------------------------- submit

async function submit() {
  const ok = await confirmDialog({
    title: "提交审核",
    body: "提交后，全部材料将被锁定，审核期间不能再上传或删除。确定提交审核吗？",
    ok: "确定提交",
  });
  if (!ok) return;
  state.cardErrors = {};
  state.cardNotices = {};
  state.fieldErrors = {};
  state.notice = null;
  await attempt(async () => {
    const payload = (await graphql(op.SUBMIT)).submitForReview;
    if (!payload.errors.length) {
      state.me = payload.candidate;
      state.loadedAt = Date.now();
      renderPage();
      window.scrollTo({ top: 0 });
      return;
    }
    const general = [];
    for (const error of payload.errors) {
      const field = error.field || "";
      if (field.startsWith("materials.")) {
        (state.cardErrors[field.slice("materials.".length)] ||= []).push(error.message);
      } else if (field === "phone" || field === "address") {
        (state.fieldErrors[field] ||= []).push(error.message);
        state.editingProfile = true;
      } else {
        general.push(error.message);
      }
    }
    state.notice = general.length ? general.join(" ") : "还有内容需要补充，请查看标红的提示。";
    renderPage();
    const first = document.querySelector(".errors");
    if (first) first.scrollIntoView({ block: "center" });
  });
}

// ---------------------------------------------------------------- start

window.addEventListener("unhandledrejection", (event) => {
  console.error(event.reason);
  showRetry("页面出现了意外错误，请重试。", () => location.reload());
});

async function boot() {
  if (!session.token) {
    renderLogin();
    return;
  }
  app.replaceChildren(h("p", { class: "card empty" }, "正在加载…"));
  try {
    await enter();
    hideBanner();
  } catch (error) {
    if (error instanceof SignedOut) {
      signOut(error.message);
    } else if (error instanceof NetworkError) {
      app.replaceChildren(h("p", { class: "card empty" }, "页面暂时无法加载。"));
      showRetry(error.message, boot);
    } else if (error instanceof RequestError) {
      signOut(error.message);
    } else {
      throw error;
    }
  }
}

boot();
