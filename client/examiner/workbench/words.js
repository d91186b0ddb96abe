// Words and formats the workbench shows; status words and Beijing time come from the candidate
// page's own module, so both sides of the service say the same thing.

import { QUALITY_WARNING_WORDS } from "/js/words.js";

export { formatTime, MESSAGE_KIND_WORDS, QUALITY_WARNING_WORDS, STATUS_WORDS } from "/js/words.js";

export const VERDICT_WORDS = { PENDING: "未判定", ACCEPTED: "合格", NEEDS_REPLACEMENT: "需更换" };

export const ACTION_WORDS = {
  SUBMIT: "提交审核",
  RETURN: "退回修改",
  APPROVE: "审核通过",
  REJECT: "审核不通过",
  UPLOAD: "上传图片",
  DELETE: "删除图片",
  VERDICT: "判定图片",
  FEEDBACK: "发送消息",
  PROFILE: "修改个人信息",
  ACTIVATE: "首次登录",
};

/** 186.2 KB (190,688 字节) */
export function byteWords(size) {
  const bytes = `${size.toLocaleString("en-US")} 字节`;
  return size >= 1024 ? `${(size / 1024).toFixed(1)} KB（${bytes}）` : bytes;
}

/** 15:30:00 in Beijing time, for claims that last minutes. */
export function clockTime(iso) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).format(new Date(iso));
}

/** A live claim in words, or "" when there is none (or it has lapsed). */
export function claimWords(claim, now = Date.now()) {
  if (!claim || new Date(claim.expiresAt).getTime() <= now) return "";
  const who = claim.mine ? "我" : claim.examinerName;
  return `${who}审核中（至 ${clockTime(claim.expiresAt)}）`;
}

export function liveClaim(claim, now = Date.now()) {
  return claim && new Date(claim.expiresAt).getTime() > now ? claim : null;
}

/** The three measures taken at upload, in words, each with what its number means. */
const MEASURES = {
  sharpness: (q) => `清晰度 ${Math.round(q.sharpness)}（越高越清晰）`,
  brightness: (q) => `亮度 ${Math.round(q.brightness)}（0–255）`,
  glare: (q) => `反光面积 ${(q.glare * 100).toFixed(1)}%`,
};
const MEASURE_OF_WARNING = { BLURRY: "sharpness", TOO_DARK: "brightness", OVEREXPOSED: "brightness", GLARE: "glare" };

/**
 * A warning badge's words and what it rests on, the warning's own measure first:
 * { text: "模糊", detail: "清晰度 212（越高越清晰），亮度 157（0–255），反光面积 0.0%，上传时测得。" }.
 */
export function qualityWarningWords(warning, quality) {
  const own = MEASURE_OF_WARNING[warning];
  const order = [own, ...Object.keys(MEASURES).filter((m) => m !== own)].filter(Boolean);
  return {
    text: QUALITY_WARNING_WORDS[warning] || warning,
    detail: `${order.map((m) => MEASURES[m](quality)).join("，")}，上传时测得。`,
  };
}

/** How far apart two look-alike pictures are: 「差异 2/64」, bits of their 64-bit perceptual hashes. */
export function distanceWords(distance) {
  return `差异 ${distance}/64`;
}
