// 消息提醒 / 反馈意见: the messages, the unread count, and the live connection that brings new ones.

import { graphql, session } from "../api.js";
import { fill, h } from "../dom.js";
import { LiveEvents } from "../live.js";
import * as op from "../operations.js";
import {
  attempt, eventArrived, handleError, messagesRead, on, refresh, reportErrors, setLiveState,
  signOut, standingRead, state,
} from "../store.js";
import { formatTime, MESSAGE_KIND_WORDS } from "../words.js";

const LIVE_WORDS = {
  open: "● 实时更新",
  connecting: "○ 正在连接…",
  retrying: "○ 连接已断开，正在重连…",
};

let live = null;

export function startLive() {
  stopLive();
  live = new LiveEvents({
    query: op.REVIEW_EVENTS,
    token: session.token,
    onEvent: (data) => {
      if (state.me && data.reviewEvents && eventArrived(data.reviewEvents)) attempt(refresh);
    },
    onConnected: catchUp,
    onState: setLiveState,
    onSignedOut: () => signOut("登录已过期，请重新登录。"),
  });
  live.start();
}

export function stopLive() {
  if (live) live.stop();
  live = null;
}

/** After every (re)connection: read messages and status again, so nothing sent meanwhile is missed. */
async function catchUp() {
  if (!state.me) return;
  let standing;
  try {
    standing = (await graphql(op.STANDING_ONLY)).me;
  } catch (error) {
    // No retry bar: the socket itself retries, and the next connection catches up again.
    handleError(error);
    return;
  }
  if (state.me && standingRead(standing)) attempt(refresh);
}

function renderLiveState() {
  const badge = document.getElementById("live");
  if (!badge) return;
  badge.dataset.live = state.liveState;
  badge.textContent = LIVE_WORDS[state.liveState];
}

export function render() {
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

on("standing", render);
on("messages", render);
on("live", renderLiveState);

async function markRead() {
  const payload = (await graphql(op.MARK_READ, {})).markMessagesRead;
  if (!reportErrors(payload.errors)) messagesRead(payload.unreadMessageCount);
}
