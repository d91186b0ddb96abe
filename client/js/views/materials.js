// 上传材料: one card per category with its example, pictures, upload slot, progress and errors.

import { graphql, upload } from "../api.js";
import { confirmDialog, previewDialog, viewPicture } from "../dialogs.js";
import { errorList, fill, h } from "../dom.js";
import * as op from "../operations.js";
import { kb, PictureProblem, preparePicture } from "../picture.js";
import { loadChecks, warningWords } from "../quality.js";
import {
  attempt, clearCard, endUpload, on, refresh, reportErrors, setCardErrors, setCardNotice,
  startUpload, state, uploadProgress,
} from "../store.js";

// Signed picture addresses live ten minutes; re-read them before showing a big picture later.
const URL_FRESH_MS = 8 * 60 * 1000;

export function render() {
  const box = document.getElementById("materials");
  if (!box || !state.me) return;
  const me = state.me;
  box.className = "materials";
  if (!me.profileComplete) {
    fill(box, h("p", { class: "card empty" }, "完善个人信息后即可上传材料。"));
    return;
  }
  loadChecks(); // ready before the first picture is chosen
  fill(box,
    h("h2", { class: "section-title" }, "上传材料"),
    // The official guide's notices, word for word.
    h("div", { class: "card notices" },
      h("p", {}, "提示：考生所上传材料照片需保证信息真实、准确、完整、有效。如有虚假材料，将按照《医师资格考试违纪违规规定》相关条款进行处理。"),
      h("p", {}, "注意：带有*号的为必须上传的项目。")),
    ...me.materials.map(materialCard));
}

/** The running upload's bar and words change in place: a new card would lose the cancel button's focus. */
function showProgress() {
  const uploading = state.uploading;
  if (!uploading) return;
  const percent = Math.round(uploading.progress * 100);
  const bar = document.getElementById(`progress-${uploading.categoryId}`);
  const text = document.getElementById(`progress-text-${uploading.categoryId}`);
  if (bar) bar.value = percent;
  if (text) text.textContent = `正在上传 ${percent}%`;
}

on("materials", render);
on("progress", showProgress);

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
      h("progress", {
        max: "100", value: String(Math.round(uploading.progress * 100)), id: `progress-${id}`,
        "aria-label": `「${category.name}」上传进度`,
      }),
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
  // What the service measured: advice to retake only while the picture may still be replaced.
  picture.quality.warnings.length
    ? h("p", { class: "quality-warning", dataset: { warnings: picture.quality.warnings.join(" ") } },
      warningWords(picture.quality.warnings, picture.locked ? "。" : "，建议重新拍摄。"))
    : null,
  );
}

async function openPicture(attachmentId, label) {
  if (Date.now() - state.loadedAt > URL_FRESH_MS) await attempt(refresh);
  const picture = state.me && state.me.materials.flatMap((m) => m.attachments).find((a) => a.id === attachmentId);
  if (picture) viewPicture(label, picture.url);
}

async function choose(material, file) {
  const category = material.category;
  clearCard(category.id);
  let prepared;
  try {
    prepared = await preparePicture(file, category);
  } catch (error) {
    if (!(error instanceof PictureProblem)) throw error;
    setCardErrors(category.id, [error.message]);
    return;
  }
  const choice = await previewDialog(prepared, category);
  if (choice === "send") await send(category, prepared);
  // 重新选择: the file chooser again, while the click still counts as the person's own.
  else if (choice === "again") document.querySelector(`[data-category-id="${category.id}"] .file-input`)?.click();
}

async function send(category, prepared) {
  const id = category.id;
  const request = upload(op.UPLOAD, { categoryId: id }, prepared.blob, prepared.filename,
    (fraction) => uploadProgress(id, fraction));
  startUpload(id, request.cancel);
  const data = await attempt(() => request.promise.finally(endUpload), {
    categoryId: id,
    retry: () => { clearCard(id); send(category, prepared); },
  });
  if (!data) return;
  if (!reportErrors(data.uploadAttachment.errors, { categoryId: id })) {
    setCardNotice(id, `上传成功（${kb(prepared.after)}）。`);
  }
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
    if (!reportErrors(payload.errors, { categoryId: id })) setCardNotice(id, "已删除。");
    await refresh();
  });
}
