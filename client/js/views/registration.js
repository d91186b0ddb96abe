// The head of the page: who is signed in, the page notice, and the registration with its status,
// lock, 提交审核 and the line that says what happens next.

import { graphql } from "../api.js";
import { confirmDialog } from "../dialogs.js";
import { fill, h } from "../dom.js";
import * as op from "../operations.js";
import {
  attempt, clearProblems, editProfile, loaded, on, queuePositionRead, reportErrors, setNotice,
  signOut, state,
} from "../store.js";
import { formatTime, lockWords, queueWords, STATUS_WORDS } from "../words.js";

// While SUBMITTED the queue position is read again once a minute, never more often.
const QUEUE_REFRESH_MS = 60 * 1000;
let queueTimer = null;

function keepQueuePositionFresh() {
  const waiting = state.me && state.me.status === "SUBMITTED";
  if (waiting && queueTimer === null) {
    queueTimer = setInterval(async () => {
      try {
        queuePositionRead((await graphql(op.QUEUE_POSITION)).me);
      } catch {
        // The next minute tries again; a lost connection shows through the live socket.
      }
    }, QUEUE_REFRESH_MS);
  } else if (!waiting && queueTimer !== null) {
    clearInterval(queueTimer);
    queueTimer = null;
  }
}

const account = document.getElementById("account");

export function renderAccount() {
  account.replaceChildren(
    h("span", { class: "who" }, state.me.name),
    h("button", { type: "button", class: "link", id: "logout", onclick: logOut }, "退出"),
  );
}

async function logOut() {
  try {
    await graphql(op.LOGOUT);
  } catch {
    // Signing out locally is what matters; the token expires anyway.
  }
  signOut();
}

export function renderNotice() {
  const box = document.getElementById("notice");
  if (!box) return;
  box.className = state.notice ? "notice" : "";
  box.setAttribute("role", "alert");
  fill(box, ...(state.notice
    ? [h("span", {}, state.notice), h("button", { type: "button", class: "link", onclick: () => setNotice(null) }, "知道了")]
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

export function render() {
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
    me.status === "SUBMITTED" && me.queuePosition
      ? h("p", { class: "queue-position", id: "queue-position", role: "status" }, queueWords(me.queuePosition))
      : null,
    me.profileComplete
      ? h("p", { class: "profile-line" },
        h("span", {}, `手机号码：${me.phone}`),
        h("span", {}, `联系地址：${me.address}`),
        h("button", {
          type: "button", class: "link", id: "edit-profile",
          onclick: () => { editProfile(true); document.getElementById("phone").focus(); },
        }, "修改"))
      : null,
  );
}

on("standing", render);
on("standing", keepQueuePositionFresh);
on("page", keepQueuePositionFresh);
on("signedOut", keepQueuePositionFresh);
on("notice", renderNotice);

async function submit() {
  const ok = await confirmDialog({
    title: "提交审核",
    body: "提交后，全部材料将被锁定，审核期间不能再上传或删除。确定提交审核吗？",
    ok: "确定提交",
  });
  if (!ok) return;
  clearProblems();
  await attempt(async () => {
    const payload = (await graphql(op.SUBMIT)).submitForReview;
    if (reportErrors(payload.errors, { summary: "还有内容需要补充，请查看标红的提示。" })) {
      const first = document.querySelector(".errors");
      if (first) first.scrollIntoView({ block: "center" });
      return;
    }
    loaded(payload.candidate);
    window.scrollTo({ top: 0 });
  });
}
