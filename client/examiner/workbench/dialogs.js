// The workbench's dialogs: native <dialog> (focus stays inside, Esc closes), each named by its
// heading. Decisions are confirmed here once; the keys list lives here too.

import { KEY_GROUPS } from "./keys.js";
import { VERDICT_WORDS } from "./words.js";

const { createElement: h, useEffect, useId, useRef, useState } = React;

/** A modal dialog; the element marked data-autofocus takes the focus when it opens. */
export function Modal({ title, onClose, className = "", children }) {
  const ref = useRef(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog.open) dialog.showModal();
    const wanted = dialog.querySelector("[data-autofocus]");
    if (wanted) wanted.focus();
    return () => {
      if (dialog.open) dialog.close();
    };
  }, []);
  return h(
    "dialog",
    {
      ref,
      className: `wb-dialog ${className}`,
      "aria-labelledby": titleId,
      onCancel: (event) => {
        event.preventDefault();
        onClose();
      },
    },
    h("h2", { id: titleId }, title),
    children,
  );
}

function Actions({ confirm, onConfirm, onClose, busy, danger = false, focusConfirm = false }) {
  return h(
    "div",
    { className: "wb-dialog-actions" },
    h("button", { type: "button", className: "wb-button", onClick: onClose }, "取消"),
    h(
      "button",
      {
        type: "submit",
        className: danger ? "wb-button wb-danger" : "wb-button wb-primary",
        disabled: busy,
        "data-autofocus": focusConfirm ? "" : undefined,
      },
      busy ? "正在提交…" : confirm,
    ),
  );
}

/** Ctrl+Enter (or ⌘+Enter) in a text field sends the form. */
function sendOnCtrlEnter(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    event.currentTarget.form.requestSubmit();
  }
}

function who(candidate) {
  return `${candidate.name}（准考证号 ${candidate.admissionNo}）`;
}

export function ApproveDialog({ candidate, pictures, busy, onConfirm, onClose }) {
  const counts = { PENDING: 0, NEEDS_REPLACEMENT: 0 };
  for (const picture of pictures) if (picture.verdict in counts) counts[picture.verdict] += 1;
  const warnings = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([verdict, n]) => h("li", { key: verdict }, `有 ${n} 张图片为「${VERDICT_WORDS[verdict]}」。`));
  return h(
    Modal,
    { title: "确认通过", onClose },
    h(
      "form",
      { onSubmit: (event) => { event.preventDefault(); onConfirm(); } },
      h("p", null, `通过 ${who(candidate)} 的报名材料？考生会收到审核通过的消息，材料保持锁定。`),
      warnings.length ? h("ul", { className: "wb-warnings" }, warnings) : null,
      h(Actions, { confirm: "确认通过", onClose, busy, focusConfirm: true }),
    ),
  );
}

export function ReturnDialog({ candidate, draft, busy, onConfirm, onClose }) {
  const [message, setMessage] = useState(draft.message || "");
  const [chosen, setChosen] = useState(() => new Set(draft.categoryIds));
  const [error, setError] = useState("");
  const errorId = useId();
  const toggle = (id) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  const submit = (event) => {
    event.preventDefault();
    if (!message.trim()) {
      setError("请填写退回说明。");
      return;
    }
    onConfirm(message, [...chosen]);
  };
  return h(
    Modal,
    { title: "退回修改", onClose, className: "wb-dialog-wide" },
    h(
      "form",
      { onSubmit: submit },
      h("p", null, `退回 ${who(candidate)}，考生会立即在页面和短信中看到这条说明。`),
      h(
        "label",
        { className: "wb-field" },
        h("span", null, "退回说明"),
        h("textarea", {
          value: message,
          rows: 8,
          "data-autofocus": "",
          "aria-invalid": error ? "true" : undefined,
          "aria-describedby": error ? errorId : undefined,
          onChange: (event) => setMessage(event.target.value),
          onKeyDown: sendOnCtrlEnter,
        }),
      ),
      error ? h("p", { id: errorId, className: "wb-field-error", role: "alert" }, error) : null,
      h(
        "fieldset",
        { className: "wb-choices" },
        h("legend", null, "需要重新上传的材料（解锁这些类别；都不选则解锁全部）"),
        candidate.materials.map((material) =>
          h(
            "label",
            { key: material.category.id },
            h("input", {
              type: "checkbox",
              checked: chosen.has(material.category.id),
              onChange: () => toggle(material.category.id),
            }),
            ` ${material.category.name}`,
          ),
        ),
      ),
      h("p", { className: "wb-hint" }, "Ctrl+Enter 确认退回，Esc 取消。"),
      h(Actions, { confirm: "确认退回", onClose, busy }),
    ),
  );
}

/** One required text, then confirm: 不通过 (reason) and 发送消息 (body). */
export function TextDialog({ title, intro, label, confirm, danger, busy, onConfirm, onClose }) {
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const errorId = useId();
  const submit = (event) => {
    event.preventDefault();
    if (!text.trim()) {
      setError(`请填写${label}。`);
      return;
    }
    onConfirm(text);
  };
  return h(
    Modal,
    { title, onClose },
    h(
      "form",
      { onSubmit: submit },
      h("p", null, intro),
      h(
        "label",
        { className: "wb-field" },
        h("span", null, label),
        h("textarea", {
          value: text,
          rows: 5,
          "data-autofocus": "",
          "aria-invalid": error ? "true" : undefined,
          "aria-describedby": error ? errorId : undefined,
          onChange: (event) => setText(event.target.value),
          onKeyDown: sendOnCtrlEnter,
        }),
      ),
      error ? h("p", { id: errorId, className: "wb-field-error", role: "alert" }, error) : null,
      h("p", { className: "wb-hint" }, `Ctrl+Enter ${confirm}，Esc 取消。`),
      h(Actions, { confirm, onClose, busy, danger }),
    ),
  );
}

export function rejectDialogProps(candidate) {
  return {
    title: "不通过",
    intro: `${who(candidate)} 的材料审核不通过？考生会收到这条原因，材料保持锁定。`,
    label: "不通过的原因",
    confirm: "确认不通过",
    danger: true,
  };
}

export function feedbackDialogProps(candidate) {
  return {
    title: "发送消息",
    intro: `发给 ${who(candidate)}：消息立即出现在考生页面，并以短信提醒。审核状态不变。`,
    label: "消息内容",
    confirm: "发送",
    danger: false,
  };
}

export function KeysDialog({ onClose }) {
  return h(
    Modal,
    { title: "快捷键", onClose, className: "wb-dialog-wide" },
    KEY_GROUPS.map((group) =>
      h(
        "section",
        { key: group.title, className: "wb-keys" },
        h("h3", null, group.title),
        h(
          "dl",
          null,
          group.keys.map(([keys, what]) => [h("dt", { key: `${keys}-k` }, h("kbd", null, keys)), h("dd", { key: `${keys}-d` }, what)]),
        ),
      ),
    ),
    h(
      "div",
      { className: "wb-dialog-actions" },
      h("button", { type: "button", className: "wb-button wb-primary", "data-autofocus": "", onClick: onClose }, "关闭"),
    ),
  );
}
