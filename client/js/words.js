// Words and formats shown to people.

export const STATUS_WORDS = {
  DRAFT: "未提交",
  SUBMITTED: "已提交",
  RETURNED: "已退回",
  APPROVED: "审核通过",
  REJECTED: "审核不通过",
};

export const MESSAGE_KIND_WORDS = {
  SYSTEM: "消息提醒",
  FEEDBACK: "反馈意见",
  RETURNED: "退回修改",
  APPROVED: "审核通过",
  REJECTED: "审核不通过",
};

/** What a picture's quality warning (QualityWarning) is called, on the page and in the workbench. */
export const QUALITY_WARNING_WORDS = { BLURRY: "模糊", TOO_DARK: "过暗", OVEREXPOSED: "过亮", GLARE: "有反光" };

export function lockWords(locked) {
  return locked ? "已锁定" : "未锁定";
}

// The service's time zone (TIMEZONE, Asia/Shanghai by default): the exam runs on Beijing time.
const PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Shanghai",
  year: "numeric", month: "numeric", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** 2026/3/1 09:30:00, like the service's own messages. */
export function formatTime(iso) {
  if (!iso) return "";
  const parts = Object.fromEntries(PARTS.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}/${Number(parts.month)}/${Number(parts.day)} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** 3月1日 09:30, for estimates. */
export function formatMonthDay(iso) {
  const parts = Object.fromEntries(PARTS.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${Number(parts.month)}月${Number(parts.day)}日 ${parts.hour}:${parts.minute}`;
}

/** 您前面还有 N 位考生等待审核，预计 M月D日 HH:MM 前完成。 (only the first part without an estimate) */
export function queueWords(position) {
  const ahead = `您前面还有 ${position.ahead} 位考生等待审核`;
  return position.estimatedReviewBy
    ? `${ahead}，预计 ${formatMonthDay(position.estimatedReviewBy)} 前完成。`
    : `${ahead}。`;
}
