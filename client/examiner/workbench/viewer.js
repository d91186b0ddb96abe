// One picture, large: zoom (wheel, pinch, + and −), rotate by 90°, fit, previous and next.
// Everything here changes how the picture is shown; the stored bytes are never touched.

import { Modal } from "./dialogs.js";
import { byteWords, formatTime, qualityWarningWords, VERDICT_WORDS } from "./words.js";

const { createElement: h, useEffect, useLayoutEffect, useRef, useState } = React;

const STEP = 1.25;
const SMALLEST = 0.05;
const LARGEST = 16;

function clamp(scale) {
  return Math.min(LARGEST, Math.max(SMALLEST, scale));
}

export function Viewer({ pictures, index, onIndex, onClose, onBroken }) {
  const picture = pictures[index];
  const stageRef = useRef(null);
  const [view, setView] = useState({ scale: null, rotation: 0, x: 0, y: 0 }); // scale null: fit
  const [stage, setStage] = useState({ width: 800, height: 600 });
  const pointers = useRef(new Map());
  const pinch = useRef(null);

  useLayoutEffect(() => {
    const element = stageRef.current;
    const measure = () => setStage({ width: element.clientWidth, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // Another picture starts fitted and upright.
  useEffect(() => setView({ scale: null, rotation: 0, x: 0, y: 0 }), [picture.id]);

  const sideways = view.rotation % 180 !== 0;
  const shownWidth = sideways ? picture.height : picture.width;
  const shownHeight = sideways ? picture.width : picture.height;
  const fitScale = Math.min(stage.width / shownWidth, stage.height / shownHeight, 4);
  const scale = view.scale ?? fitScale;

  const zoomAt = (factor, atX = 0, atY = 0) =>
    setView((current) => {
      const from = current.scale ?? fitScale;
      const to = clamp(from * factor);
      const ratio = to / from;
      // Keep the point under the pointer where it is.
      return { ...current, scale: to, x: atX - (atX - current.x) * ratio, y: atY - (atY - current.y) * ratio };
    });
  const fit = () => setView((current) => ({ ...current, scale: null, x: 0, y: 0 }));
  const rotate = () => setView((current) => ({ ...current, rotation: (current.rotation + 90) % 360, scale: null, x: 0, y: 0 }));
  const go = (step) => onIndex((index + step + pictures.length) % pictures.length);

  const fromCentre = (event) => {
    const box = stageRef.current.getBoundingClientRect();
    return [event.clientX - box.left - box.width / 2, event.clientY - box.top - box.height / 2];
  };

  const onWheel = (event) => {
    event.preventDefault();
    // A trackpad pinch arrives as a wheel event with ctrlKey; its deltas are small.
    const strength = event.ctrlKey ? 0.01 : 0.0015;
    zoomAt(Math.exp(-event.deltaY * strength), ...fromCentre(event));
  };

  useEffect(() => {
    // React's onWheel is passive: preventDefault needs a listener of our own.
    const element = stageRef.current;
    element.addEventListener("wheel", onWheel, { passive: false });
    return () => element.removeEventListener("wheel", onWheel);
  });

  const onPointerDown = (event) => {
    event.currentTarget.setPointerCapture(event.pointerId);
    pointers.current.set(event.pointerId, [event.clientX, event.clientY]);
    if (pointers.current.size === 2) {
      const [[ax, ay], [bx, by]] = [...pointers.current.values()];
      pinch.current = { distance: Math.hypot(ax - bx, ay - by), scale };
    }
  };
  const onPointerMove = (event) => {
    const last = pointers.current.get(event.pointerId);
    if (!last) return;
    pointers.current.set(event.pointerId, [event.clientX, event.clientY]);
    if (pointers.current.size === 2 && pinch.current) {
      const [[ax, ay], [bx, by]] = [...pointers.current.values()];
      const distance = Math.hypot(ax - bx, ay - by);
      setView((current) => ({ ...current, scale: clamp(pinch.current.scale * (distance / pinch.current.distance)) }));
    } else if (pointers.current.size === 1) {
      const [dx, dy] = [event.clientX - last[0], event.clientY - last[1]];
      setView((current) => ({ ...current, scale: current.scale ?? fitScale, x: current.x + dx, y: current.y + dy }));
    }
  };
  const onPointerUp = (event) => {
    pointers.current.delete(event.pointerId);
    if (pointers.current.size < 2) pinch.current = null;
  };

  const onKeyDown = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = {
      "+": () => zoomAt(STEP),
      "=": () => zoomAt(STEP),
      "-": () => zoomAt(1 / STEP),
      "_": () => zoomAt(1 / STEP),
      0: fit,
      r: rotate,
      R: rotate,
      ArrowLeft: () => go(-1),
      ArrowRight: () => go(1),
    };
    const action = keys[event.key];
    if (action) {
      event.preventDefault();
      event.stopPropagation();
      action();
    }
  };

  const transform = `translate(-50%, -50%) translate(${view.x}px, ${view.y}px) rotate(${view.rotation}deg) scale(${scale})`;
  const button = (label, onClick, extra = {}) =>
    h("button", { type: "button", className: "wb-button", onClick, ...extra }, label);
  return h(
    Modal,
    { title: `${picture.label}（${index + 1} / ${pictures.length}）`, onClose, className: "wb-viewer" },
    h(
      "div",
      { className: "wb-viewer-body", onKeyDown },
      h(
        "div",
        { className: "wb-row wb-viewer-tools", role: "toolbar", "aria-label": "查看图片" },
        button("上一张", () => go(-1), { "aria-keyshortcuts": "ArrowLeft" }),
        button("下一张", () => go(1), { "aria-keyshortcuts": "ArrowRight" }),
        button("放大 +", () => zoomAt(STEP), { "aria-keyshortcuts": "+", "data-autofocus": "" }),
        button("缩小 −", () => zoomAt(1 / STEP), { "aria-keyshortcuts": "-" }),
        button("适合窗口", fit, { "aria-keyshortcuts": "0" }),
        button("旋转 90°", rotate, { "aria-keyshortcuts": "R" }),
        h("span", { className: "wb-zoom", role: "status" }, `${Math.round(scale * 100)}%${view.rotation ? ` · 旋转 ${view.rotation}°` : ""}`),
        button("关闭", onClose, { "aria-keyshortcuts": "Escape" }),
      ),
      h(
        "div",
        {
          className: "wb-stage",
          ref: stageRef,
          onPointerDown,
          onPointerMove,
          onPointerUp,
          onPointerCancel: onPointerUp,
        },
        h("img", {
          key: picture.id,
          src: picture.url,
          alt: picture.label,
          draggable: false,
          style: { width: `${picture.width}px`, height: `${picture.height}px`, transform },
          onError: () => onBroken(picture),
        }),
      ),
      h(
        "p",
        { className: "wb-facts" },
        h("span", null, VERDICT_WORDS[picture.verdict]),
        h("span", null, byteWords(picture.byteSize)),
        h("span", null, `${picture.width} × ${picture.height} 像素`),
        h("span", null, `上传于 ${formatTime(picture.uploadedAt)}`),
        // Large, the words of the card's badges say what to look for.
        picture.quality.warnings.map((warning) => {
          const words = qualityWarningWords(warning, picture.quality);
          return h("span", { key: warning, className: "wb-viewer-warning" }, `${words.text}：${words.detail}`);
        }),
        picture.lookalikeCount > 0
          ? h("span", { className: "wb-viewer-warning" }, `相似照片 ${picture.lookalikeCount}（见图片下方的列表）`)
          : null,
      ),
    ),
  );
}
