// The workbench: signed in or not, the queue or one candidate, the notice line, and the keys.

import { Refused, RequestFailed, SignedOut } from "./api.js";
import { CandidateView } from "./candidate.js";
import { KeysDialog } from "./dialogs.js";
import { keyHint, plainKey, typingInto } from "./keys.js";
import * as op from "./operations.js";
import { QueueView, useQueue } from "./queue.js";
import { SignIn } from "./signin.js";

const { createElement: h, useCallback, useEffect, useRef, useState } = React;

const USERNAME_KEY = "exam-review.workbench.username";
const TICK_MS = 15000; // claims show their end; lapsed ones drop out of sight on the next tick

/** Why a request failed, in words for the panel; SignedOut is handled by the caller. */
function wordsFor(error) {
  if (error instanceof Refused) return error.errors.map((e) => e.message);
  if (error instanceof RequestFailed) return [error.message];
  console.error(error); // eslint-disable-line no-console
  return ["出现了意外的错误，请重试；若仍不行，请刷新页面。"];
}

function Notice({ notice, onDismiss }) {
  // Both live regions stay in the page, so screen readers hear what lands in them.
  const error = notice && notice.kind === "error" ? notice : null;
  const info = notice && notice.kind === "info" ? notice : null;
  const lines = (shown) => shown.lines.map((line, i) => h("p", { key: i }, line));
  return h(
    "div",
    { className: "wb-notices" },
    h("div", { role: "alert", className: error ? "wb-notice wb-notice-error" : "wb-notice-empty" }, error ? lines(error) : null),
    h("div", { role: "status", className: info ? "wb-notice wb-notice-info" : "wb-notice-empty" }, info ? lines(info) : null),
    notice ? h("button", { type: "button", className: "wb-button wb-small", onClick: onDismiss }, "知道了") : null,
  );
}

export function Workbench({ api, tokens }) {
  const [session, setSession] = useState(null); // { username, region, site, reasons }
  const [starting, setStarting] = useState(true);
  const [signingIn, setSigningIn] = useState(false);
  const [view, setView] = useState({ name: "queue" }); // or { name: "candidate", id, claimFirst }
  const [notice, setNotice] = useState(null); // { kind: "error" | "info", lines }
  const [keysShown, setKeysShown] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [live, setLive] = useState(null); // the latest queue event's row, for the open candidate
  const rootRef = useRef(null);
  const viewKeys = useRef({});

  const say = useCallback((kind, lines) => setNotice({ kind, lines }), []);

  const signedOut = useCallback((message) => {
    api.token = null;
    tokens.write(null);
    setSession(null);
    setView({ name: "queue" });
    setNotice(message ? { kind: "error", lines: [message] } : null);
  }, [api, tokens]);

  /** Run an action; whatever goes wrong lands on the panel (or, signed out, at sign-in). */
  const attempt = useCallback(async (work) => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof SignedOut) signedOut("登录已过期，请重新登录。");
      else say("error", wordsFor(error));
      return undefined;
    }
  }, [say, signedOut]);

  const enter = useCallback(async (username) => {
    const data = await api.run(op.REVIEW_SCOPE);
    const stats = data.reviewStats;
    setSession({ username, region: stats.region, site: stats.site, reasons: data.verdictReasons });
  }, [api]);

  // A token already in the Headers editor (kept by GraphiQL across reloads) signs in by itself.
  useEffect(() => {
    const token = tokens.read();
    if (!token) {
      setStarting(false);
      return;
    }
    api.token = token;
    (async () => {
      try {
        await enter(sessionStorage.getItem(USERNAME_KEY) || "");
      } catch (error) {
        if (error instanceof SignedOut) signedOut("登录已过期，请重新登录。");
        else say("error", wordsFor(error));
      } finally {
        setStarting(false);
      }
    })();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const signIn = async (username, password) => {
    setSigningIn(true);
    setNotice(null);
    try {
      api.token = null;
      const payload = await api.mutate(op.LOGIN, { username, password }, "login", {
        shown: { username, password: "" }, // never keep a password in the history
      });
      api.token = payload.token;
      if (payload.role === "CANDIDATE") {
        await api.run(op.LOGOUT).catch(() => undefined);
        api.token = null;
        say("error", ["这是考生账号。审核台只供考务人员使用，请用考务账号登录。"]);
        return;
      }
      tokens.write(payload.token);
      sessionStorage.setItem(USERNAME_KEY, username);
      await enter(username);
      setView({ name: "queue" });
    } catch (error) {
      if (error instanceof SignedOut) signedOut(error.message);
      else say("error", wordsFor(error));
    } finally {
      setSigningIn(false);
    }
  };

  const signOut = () =>
    attempt(async () => {
      await api.run(op.LOGOUT).catch(() => undefined);
      signedOut(null);
      say("info", ["已退出。"]);
    });

  const queue = useQueue(api, !!session, attempt, setLive);

  const next = () =>
    attempt(async () => {
      setNotice(null);
      const payload = await api.mutate(op.CLAIM_NEXT, { site: queue.filters.site.trim() || null }, "claimNext");
      if (!payload.candidate) {
        say("info", ["队列中暂时没有无人认领的考生。"]);
        return;
      }
      setView({ name: "candidate", id: payload.candidate.id, claimFirst: false, opened: Date.now(), initial: payload.candidate });
    });

  const open = (row) => {
    setNotice(null);
    setView({ name: "candidate", id: row.id, claimFirst: row.status === "SUBMITTED", opened: Date.now() });
  };

  const backToQueue = () => {
    setView({ name: "queue" });
    requestAnimationFrame(() => {
      const row = rootRef.current && rootRef.current.querySelector("button.wb-queue-row[tabindex='0']");
      (row || rootRef.current).focus();
    });
  };

  const decided = (id, words) => {
    queue.remove(id);
    backToQueue();
    say("info", [words]);
  };

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(timer);
  }, []);

  // The keys: anywhere on the page except while typing, in a dialog, or in GraphiQL's editors.
  const handlers = useRef(null);
  handlers.current = (event) => {
    const root = rootRef.current;
    if (!root || event.defaultPrevented || !plainKey(event) || typingInto(event.target)) return;
    if (root.querySelector("dialog[open]") || document.querySelector(".graphiql-dialog")) return;
    const target = event.target;
    const onPage = target === document.body || root.contains(target) || (target.closest && target.closest(".graphiql-sidebar"));
    if (!onPage) return;
    // Enter and Space belong to the button, link or summary that has the focus.
    if ((event.key === "Enter" || event.key === " ") && target.closest && target.closest("button, a, summary") && !target.closest(".wb-queue-row")) return;
    const global = session
      ? {
          n: next,
          q: () => view.name === "candidate" && backToQueue(),
          "?": () => setKeysShown(true),
        }
      : {};
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const action = viewKeys.current[key] || global[key] || (event.key === "?" ? global["?"] : undefined);
    if (action) {
      event.preventDefault();
      action();
    }
  };
  useEffect(() => {
    const listener = (event) => handlers.current(event);
    document.addEventListener("keydown", listener);
    return () => document.removeEventListener("keydown", listener);
  }, []);
  // Opened from GraphiQL's sidebar: the keys work at once.
  useEffect(() => {
    if (rootRef.current && !rootRef.current.contains(document.activeElement)) rootRef.current.focus();
  }, [session]);

  const registerKeys = (map) => {
    viewKeys.current = map;
  };

  let body;
  if (starting) {
    body = h("p", { className: "wb-loading", role: "status" }, "正在读取登录状态…");
  } else if (!session) {
    registerKeys({});
    body = h(SignIn, { busy: signingIn, onSignIn: signIn });
  } else if (view.name === "candidate") {
    body = h(CandidateView, {
      key: `${view.id}-${view.opened}`,
      api,
      id: view.id,
      claimFirst: view.claimFirst,
      initial: view.initial,
      reasons: session.reasons,
      live,
      now,
      attempt,
      say,
      registerKeys,
      onDecided: decided,
      onBack: backToQueue,
    });
  } else {
    body = h(QueueView, { queue, now, onOpen: open, registerKeys });
  }

  const scope = session ? [session.region === "*" ? "全国" : session.region, session.site || "全部考点"].join(" · ") : "";
  return h(
    "section",
    { className: "wb", ref: rootRef, tabIndex: -1, "aria-label": "审核台" },
    h(
      "header",
      { className: "wb-top" },
      h("h2", null, "审核台"),
      session ? h("span", { className: "wb-scope" }, [scope, session.username].filter(Boolean).join(" · ")) : null,
      session
        ? h(
            "div",
            { className: "wb-row" },
            h("button", { type: "button", className: "wb-button wb-primary", "aria-keyshortcuts": "N", onClick: next }, "下一位", keyHint("N")),
            h("button", { type: "button", className: "wb-button", "aria-keyshortcuts": "?", onClick: () => setKeysShown(true) }, "快捷键", keyHint("?")),
            h("button", { type: "button", className: "wb-button", onClick: signOut }, "退出"),
          )
        : null,
    ),
    h(Notice, { notice, onDismiss: () => setNotice(null) }),
    body,
    keysShown ? h(KeysDialog, { onClose: () => setKeysShown(false) }) : null,
  );
}
