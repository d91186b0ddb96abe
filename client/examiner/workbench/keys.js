// The workbench's keys: one table, read by the handlers and by the 「?」 list.

export const KEY_GROUPS = [
  {
    title: "任何时候",
    keys: [
      ["N", "下一位：认领队列中最早提交、无人审核的考生"],
      ["Q", "返回队列"],
      ["?", "显示本快捷键列表"],
      ["Esc", "关闭对话框或大图"],
    ],
  },
  {
    title: "队列",
    keys: [
      ["↑ / ↓（或 K / J）", "选择考生"],
      ["Enter", "打开并认领所选考生"],
      ["/", "搜索姓名或准考证号"],
    ],
  },
  {
    title: "考生",
    keys: [
      ["← / →", "上一张 / 下一张图片"],
      ["Enter 或 V", "查看大图"],
      ["1", "当前图片「合格」"],
      ["2", "当前图片「需更换」：勾选原因、填写备注，Enter 保存"],
      ["A", "全部合格：把尚未判定的图片都判为「合格」"],
      ["P", "通过（再按 Enter 确认）"],
      ["T", "退回修改（Ctrl+Enter 确认）"],
      ["X", "不通过（填写原因，Ctrl+Enter 确认）"],
      ["M", "发送消息"],
      ["C", "认领或续期"],
      ["U", "释放认领"],
    ],
  },
  {
    title: "大图",
    keys: [
      ["+ / −", "放大 / 缩小（也可用滚轮或双指缩放）"],
      ["0", "适合窗口"],
      ["R", "旋转 90°（只改变显示，不改动原图）"],
      ["← / →", "上一张 / 下一张"],
    ],
  },
];

/** Typing into a field: single-letter keys belong to the field, not to the workbench. */
export function typingInto(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest(".CodeMirror, [contenteditable=''], [contenteditable=true], textarea, select")) return true;
  if (target instanceof HTMLInputElement) {
    return !["checkbox", "radio", "button", "submit", "reset"].includes(target.type);
  }
  return false;
}

/** A plain key press the workbench may take: no modifier but Shift (for 「?」 and 「+」). */
export function plainKey(event) {
  return !(event.ctrlKey || event.metaKey || event.altKey || event.isComposing);
}

/** The key shown on a button; the button's name stays the words alone (aria-keyshortcuts says the key). */
export function keyHint(key) {
  return React.createElement("kbd", { className: "wb-key", "aria-hidden": "true" }, key);
}
