// The retry banner and the modal dialogs: confirm, preview before upload, a picture full size.

import { h } from "./dom.js";
import { kb } from "./picture.js";
import { warningWords } from "./quality.js";

const banner = document.getElementById("banner");

/** The 「重试」 bar; requestId (when the server gave one) in small print, to quote when asking for help. */
export function showRetry(message, retry, requestId = null) {
  banner.replaceChildren(
    h("span", { class: "banner-text" }, message,
      requestId ? h("small", { class: "request-id" }, `错误编号：${requestId}（联系考点时请提供）`) : null),
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

export function hideBanner() {
  banner.hidden = true;
  banner.replaceChildren();
}

let dialogs = 0;

/** Open `content` (a form with an <h2>) as a modal dialog, named by its heading. */
export function modal(content, { onclose } = {}) {
  dialogs += 1;
  const title = content.querySelector("h2");
  title.id = `dialog-title-${dialogs}`;
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": title.id }, content);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onclose) onclose(dialog.returnValue);
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Resolves to true when the person chose `ok`. */
export function confirmDialog({ title, body, ok, danger = false }) {
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

/**
 * Show the prepared picture, what was done to it and what looks wrong with it. Resolves to
 * "send", "again" (choose another picture) or "cancel".
 */
export function previewDialog(prepared, category) {
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
    const warnings = prepared.quality ? prepared.quality.warnings : [];
    const actions = warnings.length
      ? [
        h("button", { value: "again", class: "button secondary" }, "重新选择"),
        h("button", { value: "send", class: "button" }, "仍然上传"),
      ]
      : [
        h("button", { value: "cancel", class: "button secondary" }, "取消"),
        h("button", { value: "send", class: "button" }, "确认上传"),
      ];
    const form = h("form", { method: "dialog", class: "preview" },
      h("h2", {}, `上传到「${category.name}」`),
      h("img", { src: url, alt: "即将上传的图片", class: "preview-image" }),
      h("ul", { class: "facts" }, facts),
      warnings.length
        ? h("p", { class: "quality-warning", role: "alert", dataset: { warnings: warnings.join(" ") } },
          warningWords(warnings))
        : h("p", { class: "hint" }, "请确认照片清晰、端正、完整，再点「确认上传」。"),
      h("div", { class: "dialog-actions" }, actions),
    );
    modal(form, {
      onclose: (value) => {
        URL.revokeObjectURL(url);
        resolve(["send", "again"].includes(value) ? value : "cancel");
      },
    });
  });
}

export function viewPicture(title, url) {
  const form = h("form", { method: "dialog", class: "viewer" },
    h("h2", {}, title),
    h("img", { src: url, alt: title }),
    h("div", { class: "dialog-actions" }, h("button", { value: "close", class: "button" }, "关闭")),
  );
  modal(form);
}
