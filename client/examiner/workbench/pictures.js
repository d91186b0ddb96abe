// Every picture of the candidate on screen at once, as large as the panel allows, in category
// order; per picture its facts, 「合格」 / 「需更换」 with reasons and a note.

import { byteWords, distanceWords, formatTime, qualityWarningWords, VERDICT_WORDS } from "./words.js";

const { createElement: h, useEffect, useLayoutEffect, useRef, useState } = React;

/** Other candidates' pictures like this one: those in the examiner's scope, and how many are not. */
function LookalikeList({ picture }) {
  const hidden = picture.lookalikeCount - picture.lookalikes.length;
  return h(
    React.Fragment,
    null,
    picture.lookalikes.length
      ? h(
          React.Fragment,
          null,
          h("p", null, "其他考生上传过相似的照片（差异越小越相似，0 即同一张照片）："),
          h(
            "ul",
            { className: "wb-lookalikes" },
            picture.lookalikes.map((other, index) =>
              h(
                "li",
                { key: `${other.candidateId}-${index}` },
                h("strong", null, other.candidateName),
                ` · 准考证号 ${other.admissionNo} · ${other.categoryName} · ${distanceWords(other.distance)}`,
              ),
            ),
          ),
        )
      : null,
    hidden > 0
      ? h(
          "p",
          null,
          picture.lookalikes.length
            ? `另有 ${hidden} 张在您的审核范围之外，不显示考生。`
            : `${hidden} 张相似照片都在您的审核范围之外，不显示考生。`,
        )
      : null,
  );
}

/**
 * Notes under a picture, each (picture, context) => [{ key, text, tone, title?, details? }]: a
 * `title` says what the note rests on; a note with `details` is a button that shows them.
 * Their fields are in operations.js PICTURE_FIELDS.
 */
export const PICTURE_NOTES = [
  (picture, context) =>
    context.addedSinceReturn.has(picture.id)
      ? [{ key: "added", text: "退回后新上传", tone: "info" }]
      : [],
  (picture) =>
    picture.quality.warnings.map((warning) => {
      const words = qualityWarningWords(warning, picture.quality);
      return { key: `quality-${warning}`, text: words.text, tone: "warning", title: words.detail };
    }),
  (picture) =>
    picture.lookalikeCount > 0
      ? [
          {
            key: "lookalikes",
            text: `相似照片 ${picture.lookalikeCount}`,
            tone: "warning",
            title: "与其他考生的照片相似：同一张证件照片出现在两人的材料中，可能是冒用",
            details: h(LookalikeList, { picture }),
          },
        ]
      : [],
];

/** A note on the caption line: words, or a button that shows its details below the facts. */
function Note({ note, noteId, opened, onToggle }) {
  const className = `wb-note wb-note-${note.tone}`;
  if (!note.details) {
    // The title shows on hover; the same words are read out to those who cannot hover.
    return h(
      "span",
      { className, title: note.title, "data-note": note.key },
      note.text,
      note.title ? h("span", { className: "wb-sr" }, `：${note.title}`) : null,
    );
  }
  return h(
    "button",
    {
      type: "button",
      className: `${className} wb-note-toggle`,
      title: note.title,
      "data-note": note.key,
      "aria-expanded": opened,
      "aria-controls": opened ? noteId : undefined, // the details exist only while shown
      onClick: onToggle,
    },
    note.text,
    h("span", { "aria-hidden": "true" }, opened ? " ▴" : " ▾"),
  );
}

/** The candidate's pictures in category order, each with its words: 「身份证明 第 1 张」. */
export function picturesOf(candidate) {
  const pictures = [];
  for (const material of candidate.materials) {
    material.attachments.forEach((attachment, index) => {
      pictures.push({
        ...attachment,
        categoryId: material.category.id,
        categoryName: material.category.name,
        label: `${material.category.name} 第 ${index + 1} 张`,
      });
    });
  }
  return pictures;
}

const CHROME = 118; // caption, facts and verdict buttons under each picture, in px
const GAP = 12;
const SMALLEST = 140;

/** Columns and picture height that show `count` pictures in width × height, largest first. */
export function layout(count, width, height, aspect) {
  let best = null;
  for (let columns = 1; columns <= Math.max(count, 1); columns += 1) {
    const rows = Math.ceil(count / columns);
    const cellWidth = (width - GAP * (columns - 1)) / columns;
    const boxHeight = (height - GAP * (rows - 1)) / rows - CHROME;
    const shownHeight = Math.min(boxHeight, cellWidth / aspect);
    if (shownHeight < SMALLEST) continue;
    const area = shownHeight * Math.min(cellWidth, shownHeight * aspect);
    if (!best || area > best.area) best = { columns, height: Math.floor(boxHeight), area };
  }
  if (best) return best;
  // Too many for one screen: still as large as a readable card, the panel scrolls.
  const columns = Math.max(1, Math.min(count, Math.floor(width / 280)));
  return { columns, height: Math.max(SMALLEST, Math.floor(((width - GAP * (columns - 1)) / columns) / aspect)) };
}

function useFit(gridRef, count, aspect) {
  const [fit, setFit] = useState({ columns: Math.min(count, 2), height: 260 });
  useLayoutEffect(() => {
    const grid = gridRef.current;
    const scroller = grid && grid.closest(".graphiql-plugin");
    if (!grid) return undefined;
    const measure = () => {
      const bottom = scroller ? scroller.getBoundingClientRect().bottom : window.innerHeight;
      const top = grid.getBoundingClientRect().top + (scroller ? scroller.scrollTop : 0);
      const height = Math.max(bottom - top - 20, 300);
      setFit(layout(count, grid.clientWidth, height, aspect));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(grid);
    if (scroller) observer.observe(scroller);
    return () => observer.disconnect();
  }, [gridRef, count, aspect]);
  return fit;
}

function Facts({ picture }) {
  return h(
    "p",
    { className: "wb-facts" },
    h("span", null, byteWords(picture.byteSize)),
    h("span", null, `${picture.width} × ${picture.height} 像素`),
    h("span", null, `上传于 ${formatTime(picture.uploadedAt)}`),
  );
}

function ReasonEditor({ picture, reasons, onSave, onCancel }) {
  const [chosen, setChosen] = useState(() => new Set(picture.verdictReasons.map((r) => r.code)));
  const [note, setNote] = useState(picture.verdictNote || "");
  const first = useRef(null);
  useEffect(() => {
    if (first.current) first.current.focus();
  }, []);
  const toggle = (code) => {
    const next = new Set(chosen);
    if (next.has(code)) next.delete(code);
    else next.add(code);
    setChosen(next);
  };
  const save = (event) => {
    event.preventDefault();
    onSave([...chosen], note);
  };
  return h(
    "form",
    {
      className: "wb-reasons",
      onSubmit: save,
      onKeyDown: (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          onCancel();
        } else if (event.key === "Enter" && event.target.type === "checkbox") {
          save(event); // Enter on a reason saves, like in the note
        }
      },
    },
    h(
      "fieldset",
      null,
      h("legend", null, `${picture.label}需更换的原因`),
      reasons.map((reason, index) =>
        h(
          "label",
          { key: reason.code },
          h("input", {
            type: "checkbox",
            ref: index === 0 ? first : undefined,
            checked: chosen.has(reason.code),
            onChange: () => toggle(reason.code),
          }),
          ` ${reason.label}`,
        ),
      ),
    ),
    h(
      "label",
      { className: "wb-field" },
      h("span", null, "备注"),
      h("input", { type: "text", value: note, maxLength: 500, onChange: (event) => setNote(event.target.value) }),
    ),
    h(
      "div",
      { className: "wb-row" },
      h("button", { type: "submit", className: "wb-button wb-danger" }, "保存「需更换」"),
      h("button", { type: "button", className: "wb-button", onClick: onCancel }, "取消"),
    ),
  );
}

function PictureCard({ picture, index, focused, editing, reasons, height, context, actions }) {
  const notes = PICTURE_NOTES.flatMap((note) => note(picture, context));
  const [openedKey, setOpenedKey] = useState(null);
  const opened = notes.find((note) => note.details && note.key === openedKey);
  const noteId = (note) => `wb-note-${picture.id}-${note.key}`;
  const broken = context.broken.has(picture.id);
  const verdictWords = VERDICT_WORDS[picture.verdict];
  const said = [
    ...picture.verdictReasons.map((r) => r.label),
    ...(picture.verdictNote ? [picture.verdictNote] : []),
  ].join("；");
  return h(
    "figure",
    {
      className: `wb-card wb-verdict-${picture.verdict.toLowerCase()}${focused ? " wb-focused" : ""}`,
      "data-picture": picture.id,
      onFocusCapture: () => actions.focus(index),
    },
    h(
      "button",
      {
        type: "button",
        className: "wb-picture",
        style: { height: `${height}px` },
        "aria-label": `查看大图：${picture.label}`,
        onClick: () => actions.open(index),
      },
      broken
        ? h("span", { className: "wb-broken" }, "图片暂时无法显示，正在重新获取…")
        : h("img", {
            src: picture.url,
            alt: picture.label,
            decoding: "async",
            onError: () => actions.broken(picture),
          }),
    ),
    h(
      "figcaption",
      null,
      h(
        "p",
        { className: "wb-caption" },
        h("strong", null, picture.label),
        h("span", { className: `wb-verdict wb-verdict-${picture.verdict.toLowerCase()}` }, verdictWords),
        notes.map((note) =>
          h(Note, {
            key: note.key,
            note,
            noteId: noteId(note),
            opened: note === opened,
            onToggle: () => setOpenedKey(note === opened ? null : note.key),
          }),
        ),
      ),
      h(Facts, { picture }),
      opened ? h("div", { className: "wb-note-details", id: noteId(opened) }, opened.details) : null,
      said ? h("p", { className: "wb-said" }, `原因：${said}`) : null,
      editing
        ? h(ReasonEditor, {
            picture,
            reasons,
            onSave: (codes, note) => actions.needsReplacement(picture, codes, note),
            onCancel: () => actions.edit(null),
          })
        : h(
            "div",
            { className: "wb-row", role: "group", "aria-label": `${picture.label}的判定` },
            h(
              "button",
              {
                type: "button",
                className: "wb-button wb-ok",
                "aria-pressed": picture.verdict === "ACCEPTED",
                disabled: !context.decidable,
                onClick: () => actions.accept(picture),
              },
              "合格",
            ),
            h(
              "button",
              {
                type: "button",
                className: "wb-button wb-bad",
                "aria-pressed": picture.verdict === "NEEDS_REPLACEMENT",
                disabled: !context.decidable,
                onClick: () => actions.edit(picture.id),
              },
              "需更换",
            ),
          ),
    ),
  );
}

export function PictureGrid({ pictures, focused, editing, reasons, context, actions }) {
  const gridRef = useRef(null);
  const aspect =
    pictures.reduce((sum, p) => sum + p.width / p.height, 0) / Math.max(pictures.length, 1) || 4 / 3;
  const fit = useFit(gridRef, pictures.length, aspect);
  if (!pictures.length) {
    return h("p", { className: "wb-empty", ref: gridRef }, "该考生还没有上传任何图片。");
  }
  return h(
    "div",
    {
      className: "wb-pictures",
      ref: gridRef,
      style: { gridTemplateColumns: `repeat(${fit.columns}, minmax(0, 1fr))` },
    },
    pictures.map((picture, index) =>
      h(PictureCard, {
        key: picture.id,
        picture,
        index,
        focused: index === focused,
        editing: editing === picture.id,
        reasons,
        height: fit.height,
        context,
        actions,
      }),
    ),
  );
}
