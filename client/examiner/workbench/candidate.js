// One candidate under review: who, where, status, claim; every picture; the decisions; the
// messages, the history and what changed since the last return.

import { Refused } from "./api.js";
import {
  ApproveDialog,
  feedbackDialogProps,
  rejectDialogProps,
  ReturnDialog,
  TextDialog,
} from "./dialogs.js";
import { keyHint } from "./keys.js";
import * as op from "./operations.js";
import { PictureGrid, picturesOf } from "./pictures.js";
import { Viewer } from "./viewer.js";
import {
  ACTION_WORDS,
  claimWords,
  formatTime,
  liveClaim,
  MESSAGE_KIND_WORDS,
  STATUS_WORDS,
} from "./words.js";

const { createElement: h, useCallback, useEffect, useMemo, useRef, useState } = React;

const RENEW_BEFORE_MS = 5 * 60 * 1000; // renew a claim that ends within five minutes…
const ACTIVE_WITHIN_MS = 5 * 60 * 1000; // …while the examiner is at work

function Detail({ label, children }) {
  return h("div", { className: "wb-detail" }, h("dt", null, label), h("dd", null, children));
}

function Messages({ messages }) {
  return h(
    "details",
    { className: "wb-section" },
    h("summary", null, `消息（${messages.length}）`),
    messages.length
      ? h(
          "ol",
          { className: "wb-messages" },
          messages.map((message) =>
            h(
              "li",
              { key: message.id },
              h("p", { className: "wb-meta" }, `${MESSAGE_KIND_WORDS[message.kind]} · ${message.authorName} · ${formatTime(message.createdAt)}`),
              h("p", { className: "wb-body" }, message.body),
            ),
          ),
        )
      : h("p", null, "还没有消息。"),
  );
}

function History({ entries, pictures }) {
  const labels = new Map(pictures.map((p) => [p.id, p.label]));
  return h(
    "details",
    { className: "wb-section" },
    h("summary", null, `审核记录（${entries.length}）`),
    h(
      "table",
      { className: "wb-history" },
      h("thead", null, h("tr", null, ["时间", "操作", "人员", "状态", "说明"].map((t) => h("th", { key: t, scope: "col" }, t)))),
      h(
        "tbody",
        null,
        entries.map((entry, i) =>
          h(
            "tr",
            { key: i },
            h("td", null, formatTime(entry.at)),
            h("td", null, ACTION_WORDS[entry.action] || entry.action),
            h("td", null, entry.actorName),
            h("td", null, entry.fromStatus === entry.toStatus ? STATUS_WORDS[entry.toStatus] : `${STATUS_WORDS[entry.fromStatus]} → ${STATUS_WORDS[entry.toStatus]}`),
            h("td", null, [labels.get(entry.attachmentId), entry.note].filter(Boolean).join("：")),
          ),
        ),
      ),
    ),
  );
}

/** The header's flag: which pictures look like other candidates' (each card lists them). */
function LookalikeSummary({ pictures }) {
  const flagged = pictures.filter((p) => p.lookalikeCount > 0);
  if (!flagged.length) return null;
  const total = flagged.reduce((sum, p) => sum + p.lookalikeCount, 0);
  return h(
    "p",
    { className: "wb-flag" },
    h("strong", null, "相似照片"),
    `${flagged.map((p) => p.label).join("、")}与其他考生的 ${total} 张照片相似，请核对是否冒用（见图片下方「相似照片」）。`,
  );
}

function Changes({ changes }) {
  if (!changes) return null;
  return h(
    "p",
    { className: "wb-changes" },
    `自 ${formatTime(changes.since)} 退回后：新上传 ${changes.added.length} 张，删除 ${changes.removedCount} 张。`,
    changes.added.length ? "新上传的图片标有「退回后新上传」。" : "",
  );
}

export function CandidateView({ api, id, claimFirst, initial, reasons, live, now, attempt, say, registerKeys, onDecided, onBack }) {
  const [candidate, setCandidate] = useState(initial || null);
  const [focused, setFocused] = useState(0);
  const [editing, setEditing] = useState(null);
  const [viewing, setViewing] = useState(null);
  const [dialog, setDialog] = useState(null); // { kind: "approve" | "return" | "reject" | "feedback", draft }
  const [busy, setBusy] = useState(0); // operations queued or running
  const [submitting, setSubmitting] = useState(false); // the open dialog's own request
  const chain = useRef(Promise.resolve());
  const latest = useRef(candidate); // what the queued operations read when their turn comes
  const [broken, setBroken] = useState(() => new Set());
  const retried = useRef(new Set()); // addresses re-read once already
  const rootRef = useRef(null);
  const lastActive = useRef(Date.now());

  const update = useCallback((change) => {
    latest.current = change(latest.current);
    setCandidate(latest.current);
  }, []);

  const load = useCallback(async () => {
    const data = await api.run(op.CANDIDATE, { id });
    if (!data.candidate) throw new Refused([{ code: "NOT_FOUND", message: "考生不存在或无权访问。" }]);
    update(() => data.candidate);
    setBroken(new Set());
    return data.candidate;
  }, [api, id]);

  // Open: claim first (when asked), then read everything (unless claimNext brought it).
  useEffect(() => {
    if (initial) return undefined;
    let cancelled = false;
    attempt(async () => {
      if (claimFirst) {
        try {
          await api.mutate(op.CLAIM_CANDIDATE, { candidateId: id }, "claimCandidate");
        } catch (error) {
          // Looking is allowed; the reason it is not claimed stays on the panel.
          if (!(error instanceof Refused)) throw error;
          say("error", error.errors.map((e) => e.message));
        }
      }
      if (!cancelled) await load();
    });
    return () => {
      cancelled = true;
    };
  }, [id]); // eslint-disable-line react-hooks/exhaustive-deps

  // The queue's live events carry this candidate's claim and status as others see them now.
  useEffect(() => {
    if (live && candidate && live.id === candidate.id) {
      update((current) => ({ ...current, status: live.status, claim: live.claim, replyDeadline: live.replyDeadline }));
    }
  }, [live]); // eslint-disable-line react-hooks/exhaustive-deps

  const pictures = useMemo(() => (candidate ? picturesOf(candidate) : []), [candidate]);
  const claim = candidate ? liveClaim(candidate.claim, now) : null;
  const decidable = !!candidate && candidate.status === "SUBMITTED";

  // Keep one's own claim alive while working on the candidate.
  useEffect(() => {
    const mark = () => {
      lastActive.current = Date.now();
    };
    document.addEventListener("keydown", mark, true);
    document.addEventListener("pointerdown", mark, true);
    return () => {
      document.removeEventListener("keydown", mark, true);
      document.removeEventListener("pointerdown", mark, true);
    };
  }, []);
  useEffect(() => {
    if (!claim || !claim.mine) return;
    const left = new Date(claim.expiresAt).getTime() - now;
    if (left < RENEW_BEFORE_MS && now - lastActive.current < ACTIVE_WITHIN_MS) {
      attempt(async () => {
        const payload = await api.mutate(op.CLAIM_CANDIDATE, { candidateId: id }, "claimCandidate");
        update((current) => ({ ...current, claim: payload.candidate.claim }));
      });
    }
  }, [now]); // eslint-disable-line react-hooks/exhaustive-deps

  const replacePicture = (attachment) =>
    update((current) => ({
      ...current,
      materials: current.materials.map((m) => ({
        ...m,
        attachments: m.attachments.map((a) => (a.id === attachment.id ? attachment : a)),
      })),
    }));

  /**
   * Operations run one after another in the order asked, so keys typed ahead (A, then P, then
   * Enter) do what they say even while the service is still answering the first.
   */
  const queued = (work) => {
    setBusy((n) => n + 1);
    const turn = chain.current.then(() => attempt(work)).finally(() => setBusy((n) => n - 1));
    chain.current = turn;
    return turn;
  };

  const verdict = (picture, value, codes = null, note = null) =>
    queued(async () => {
      setEditing(null);
      const payload = await api.mutate(
        op.SET_VERDICT,
        { attachmentId: picture.id, verdict: value, reasons: codes, note: note && note.trim() ? note.trim() : null },
        "setAttachmentVerdict",
      );
      replacePicture(payload.attachment);
    });

  const acceptAll = () =>
    queued(async () => {
      const pending = picturesOf(latest.current).filter((p) => p.verdict === "PENDING");
      if (!pending.length) {
        say("info", ["没有待判定的图片。"]);
        return;
      }
      // One after another: each is its own operation in GraphiQL's history.
      for (const picture of pending) {
        const payload = await api.mutate(
          op.SET_VERDICT,
          { attachmentId: picture.id, verdict: "ACCEPTED", reasons: null, note: null },
          "setAttachmentVerdict",
        );
        replacePicture(payload.attachment);
      }
      say("info", [`已将 ${pending.length} 张图片判为「合格」。`]);
    });

  const reclaim = () =>
    queued(async () => {
      const payload = await api.mutate(op.CLAIM_CANDIDATE, { candidateId: id }, "claimCandidate");
      update((current) => ({ ...current, claim: payload.candidate.claim }));
      say("info", ["已认领，其他考务人员暂时不能审核该考生。"]);
    });

  const release = () =>
    queued(async () => {
      const payload = await api.mutate(op.RELEASE_CANDIDATE, { candidateId: id }, "releaseCandidate");
      update((current) => ({ ...current, claim: payload.candidate.claim }));
      say("info", ["已释放认领，其他考务人员可以审核该考生。"]);
    });

  /** A dialog's confirmation: the dialog shows it is sending, and closes when the answer is in. */
  const confirmed = (work) => {
    setSubmitting(true);
    return queued(async () => {
      try {
        await work();
      } finally {
        setSubmitting(false);
        setDialog(null);
      }
    });
  };

  const decide = (work, words) =>
    confirmed(async () => {
      await work();
      onDecided(id, words);
    });

  const openReturn = () =>
    queued(async () => {
      const data = await api.run(op.RETURN_DRAFT, { candidateId: id });
      setDialog({ kind: "return", draft: data.returnMessageDraft || { message: "", categoryIds: [] } });
    });

  // Broken picture: its signed address has most likely lapsed. Read fresh addresses once.
  const onBroken = (picture) => {
    if (retried.current.has(picture.url)) {
      setBroken((current) => new Set(current).add(picture.id));
      return;
    }
    retried.current.add(picture.url);
    attempt(load);
  };

  const focusPicture = (index) => {
    setFocused(index);
    const card = rootRef.current && rootRef.current.querySelectorAll(".wb-picture")[index];
    if (card && document.activeElement !== card) card.focus();
  };

  const actions = {
    focus: setFocused,
    open: setViewing,
    edit: setEditing,
    broken: onBroken,
    accept: (picture) => verdict(picture, "ACCEPTED"),
    needsReplacement: (picture, codes, note) => verdict(picture, "NEEDS_REPLACEMENT", codes, note),
  };

  const open = {
    approve: () => setDialog({ kind: "approve" }),
    return: openReturn,
    reject: () => setDialog({ kind: "reject" }),
    feedback: () => setDialog({ kind: "feedback" }),
  };

  registerKeys(
    candidate && !dialog && viewing === null
      ? {
          ArrowRight: () => focusPicture(Math.min(focused + 1, pictures.length - 1)),
          ArrowLeft: () => focusPicture(Math.max(focused - 1, 0)),
          Enter: () => pictures.length && setViewing(focused),
          v: () => pictures.length && setViewing(focused),
          1: () => decidable && pictures[focused] && verdict(pictures[focused], "ACCEPTED"),
          2: () => decidable && pictures[focused] && setEditing(pictures[focused].id),
          a: () => decidable && acceptAll(),
          p: () => decidable && open.approve(),
          t: () => decidable && open.return(),
          x: () => decidable && open.reject(),
          m: open.feedback,
          c: () => decidable && reclaim(),
          u: () => claim && release(),
        }
      : {},
  );

  if (!candidate) return h("p", { className: "wb-loading", role: "status" }, "正在读取考生材料…");

  const context = {
    decidable,
    broken,
    addedSinceReturn: new Set(candidate.changesSinceLastReturn ? candidate.changesSinceLastReturn.added.map((a) => a.id) : []),
  };
  const claimText = claimWords(candidate.claim, now) || (decidable ? "无人认领" : "—");
  const action = (label, key, onClick, extra = {}) =>
    h("button", { type: "button", className: "wb-button", "aria-keyshortcuts": key, onClick, ...extra }, label, keyHint(key));

  return h(
    "article",
    { className: "wb-candidate", ref: rootRef, "aria-label": `考生 ${candidate.name}` },
    h(
      "header",
      { className: "wb-candidate-head" },
      h("h3", null, candidate.name),
      h(
        "dl",
        { className: "wb-details" },
        h(Detail, { label: "准考证号" }, candidate.admissionNo),
        h(Detail, { label: "考点" }, `${candidate.region} · ${candidate.site}`),
        h(Detail, { label: "状态" }, h("span", { className: `wb-status wb-status-${candidate.status.toLowerCase()}` }, STATUS_WORDS[candidate.status])),
        h(Detail, { label: "提交时间" }, candidate.submittedAt ? formatTime(candidate.submittedAt) : "—"),
        candidate.replyDeadline ? h(Detail, { label: "回复期限" }, formatTime(candidate.replyDeadline)) : null,
        h(Detail, { label: "认领" }, h("span", { className: claim && !claim.mine ? "wb-claim-other" : "wb-claim" }, claimText)),
      ),
      h(LookalikeSummary, { pictures }),
      h(
        "div",
        { className: "wb-row wb-decisions", role: "toolbar", "aria-label": "审核操作" },
        action("全部合格", "A", acceptAll, { disabled: !decidable }),
        action("通过", "P", open.approve, { disabled: !decidable, className: "wb-button wb-primary" }),
        action("退回修改", "T", open.return, { disabled: !decidable }),
        action("不通过", "X", open.reject, { disabled: !decidable, className: "wb-button wb-danger" }),
        action("发送消息", "M", open.feedback),
        claim && claim.mine
          ? action("释放认领", "U", release)
          : action("认领", "C", reclaim, { disabled: !decidable }),
        action("返回队列", "Q", onBack),
        h("span", { className: "wb-saving", "aria-live": "polite" }, busy ? "正在处理…" : ""),
      ),
    ),
    h(Changes, { changes: candidate.changesSinceLastReturn }),
    h(PictureGrid, { pictures, focused, editing, reasons, context, actions }),
    h(Messages, { messages: candidate.messages }),
    h(History, { entries: candidate.history, pictures }),
    viewing !== null && pictures[viewing]
      ? h(Viewer, {
          pictures,
          index: viewing,
          onIndex: (index) => {
            setViewing(index);
            setFocused(index);
          },
          onClose: () => {
            setViewing(null);
            focusPicture(focused);
          },
          onBroken,
        })
      : null,
    dialog && dialog.kind === "approve"
      ? h(ApproveDialog, {
          candidate,
          pictures,
          busy: submitting,
          onClose: () => setDialog(null),
          onConfirm: () => decide(() => api.mutate(op.APPROVE, { candidateId: id }, "approveCandidate"), `已通过：${candidate.name}`),
        })
      : null,
    dialog && dialog.kind === "return"
      ? h(ReturnDialog, {
          candidate,
          draft: dialog.draft,
          busy: submitting,
          onClose: () => setDialog(null),
          onConfirm: (message, categoryIds) =>
            decide(
              () => api.mutate(op.RETURN, { candidateId: id, message, categoryIds: categoryIds.length ? categoryIds : null }, "returnForCorrection"),
              `已退回修改：${candidate.name}`,
            ),
        })
      : null,
    dialog && dialog.kind === "reject"
      ? h(TextDialog, {
          ...rejectDialogProps(candidate),
          busy: submitting,
          onClose: () => setDialog(null),
          onConfirm: (reason) => decide(() => api.mutate(op.REJECT, { candidateId: id, reason }, "rejectCandidate"), `已判为不通过：${candidate.name}`),
        })
      : null,
    dialog && dialog.kind === "feedback"
      ? h(TextDialog, {
          ...feedbackDialogProps(candidate),
          busy: submitting,
          onClose: () => setDialog(null),
          onConfirm: (body) =>
            confirmed(async () => {
              await api.mutate(op.FEEDBACK, { candidateId: id, body }, "sendFeedback");
              say("info", [`消息已发送给 ${candidate.name}。`]);
              await load();
            }),
        })
      : null,
  );
}
