// The examiner's queue, live: filters, who holds each claim, and opening a candidate.

import * as op from "./operations.js";
import { claimWords, formatTime, liveClaim, STATUS_WORDS } from "./words.js";

const { createElement: h, useCallback, useEffect, useRef, useState } = React;

export const STATUS_CHOICES = [
  ["SUBMITTED", "已提交（待审核）"],
  ["RETURNED", "已退回"],
  ["APPROVED", "审核通过"],
  ["REJECTED", "审核不通过"],
  ["DRAFT", "未提交"],
  ["ALL", "全部"],
];
const ALL_STATUSES = ["DRAFT", "SUBMITTED", "RETURNED", "APPROVED", "REJECTED"];
const RECONNECT_MS = [1000, 2000, 5000, 10000, 30000];

function variables(filters, after = null) {
  const status = filters.overdue ? null : filters.status === "ALL" ? ALL_STATUSES : [filters.status];
  return {
    status,
    site: filters.site.trim() || null,
    search: filters.search.trim() || null,
    overdue: filters.overdue,
    after,
  };
}

/** Whether a row (from a live event) belongs in the list as filtered now. */
function matches(filters, row, now) {
  if (filters.overdue) {
    if (row.status !== "RETURNED" || !row.replyDeadline || new Date(row.replyDeadline).getTime() >= now) return false;
  } else if (filters.status !== "ALL" && row.status !== filters.status) {
    return false;
  }
  if (filters.site.trim() && row.site !== filters.site.trim()) return false;
  const text = filters.search.trim().toLowerCase();
  return !text || row.name.toLowerCase().includes(text) || row.admissionNo.toLowerCase().includes(text);
}

function order(row) {
  return `${row.submittedAt || ""}|${String(row.id).padStart(12, "0")}`;
}

/** The queue's state and its live feed, kept while the examiner looks at a candidate. */
export function useQueue(api, active, attempt, onLive) {
  const [filters, setFilters] = useState({ status: "SUBMITTED", site: "", search: "", overdue: false });
  const [list, setList] = useState({ rows: [], total: 0, hasNext: false, endCursor: null, loaded: false });
  const [live, setLive] = useState("closed");
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  const pending = useRef(null); // events that arrive while the list is being read

  const apply = useCallback((event) => {
    if (pending.current) {
      pending.current.push(event);
      return;
    }
    const row = { ...event.candidate, status: event.status };
    onLive(row);
    setList((current) => {
      const fits = matches(filtersRef.current, row, Date.now());
      const at = current.rows.findIndex((r) => r.id === row.id);
      if (at >= 0) {
        const rows = [...current.rows];
        if (fits) rows[at] = row;
        else rows.splice(at, 1);
        return { ...current, rows, total: current.total - (fits ? 0 : 1) };
      }
      if (!fits) return current;
      const last = current.rows[current.rows.length - 1];
      const beyond = current.hasNext && last && order(row) > order(last);
      const rows = beyond ? current.rows : [...current.rows, row].sort((a, b) => (order(a) < order(b) ? -1 : 1));
      return { ...current, rows, total: current.total + 1 };
    });
  }, [onLive]);

  const load = useCallback(async (after = null) => {
    if (!after) pending.current = [];
    try {
      const data = await api.run(op.QUEUE, variables(filtersRef.current, after));
      const connection = data.reviewQueue;
      const rows = connection.edges.map((edge) => edge.node);
      setList((current) => ({
        rows: after ? [...current.rows, ...rows.filter((r) => !current.rows.some((c) => c.id === r.id))] : rows,
        total: connection.totalCount,
        hasNext: connection.pageInfo.hasNextPage,
        endCursor: connection.pageInfo.endCursor,
        loaded: true,
      }));
    } finally {
      if (!after) {
        const waiting = pending.current || [];
        pending.current = null;
        waiting.forEach(apply);
      }
    }
  }, [api, apply]);

  // The live feed: subscribe, then read the list; after a drop, wait, read again, resubscribe.
  useEffect(() => {
    if (!active) return undefined;
    let stop = null;
    let timer = null;
    let failures = 0;
    let closed = false;
    const connect = () => {
      stop = api.subscribe(op.QUEUE_EVENTS, {
        onData: (data) => {
          failures = 0;
          setLive("open");
          apply(data.queueEvents);
        },
        onEnd: () => {
          if (closed) return;
          setLive("reconnecting");
          const wait = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)];
          failures += 1;
          timer = setTimeout(() => attempt(async () => {
            await load();
            if (!closed) connect();
          }), wait);
        },
      });
      setLive("open"); // until the socket says otherwise
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(timer);
      if (stop) stop();
    };
  }, [active, api]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (active) attempt(() => load());
  }, [active, filters]); // eslint-disable-line react-hooks/exhaustive-deps

  return {
    filters,
    setFilters,
    list,
    live,
    reload: () => attempt(() => load()),
    loadMore: () => attempt(() => load(list.endCursor)),
    remove: (id) =>
      setList((current) => {
        const rows = current.rows.filter((r) => r.id !== id);
        return { ...current, rows, total: current.total - (current.rows.length - rows.length) };
      }),
  };
}

const LIVE_WORDS = { open: "实时更新中", reconnecting: "实时更新已断开，正在重连…", closed: "" };

function Filters({ queue, searchRef }) {
  const [draft, setDraft] = useState(queue.filters);
  useEffect(() => setDraft(queue.filters), [queue.filters]);
  const submit = (event) => {
    event.preventDefault();
    queue.setFilters({ ...draft });
  };
  const field = (label, control) => h("label", { className: "wb-field wb-inline" }, h("span", null, label), control);
  return h(
    "form",
    { className: "wb-filters", role: "search", "aria-label": "筛选队列", onSubmit: submit },
    field(
      "状态",
      h(
        "select",
        {
          value: draft.status,
          disabled: draft.overdue,
          onChange: (event) => queue.setFilters({ ...draft, status: event.target.value }),
        },
        STATUS_CHOICES.map(([value, words]) => h("option", { key: value, value }, words)),
      ),
    ),
    field("考点", h("input", { type: "text", value: draft.site, size: 8, onChange: (event) => setDraft({ ...draft, site: event.target.value }) })),
    field(
      "姓名或准考证号",
      h("input", {
        type: "search",
        ref: searchRef,
        value: draft.search,
        size: 14,
        onChange: (event) => setDraft({ ...draft, search: event.target.value }),
      }),
    ),
    h(
      "label",
      { className: "wb-check" },
      h("input", {
        type: "checkbox",
        checked: draft.overdue,
        onChange: (event) => queue.setFilters({ ...draft, overdue: event.target.checked }),
      }),
      " 仅逾期未回复的退回",
    ),
    h("button", { type: "submit", className: "wb-button" }, "查询"),
  );
}

export function QueueView({ queue, now, onOpen, registerKeys }) {
  const [selected, setSelected] = useState(0);
  const listRef = useRef(null);
  const searchRef = useRef(null);
  const rows = queue.list.rows;
  const index = Math.min(selected, Math.max(rows.length - 1, 0));

  const select = (next) => {
    const bounded = Math.max(0, Math.min(next, rows.length - 1));
    setSelected(bounded);
    const button = listRef.current && listRef.current.querySelectorAll("button.wb-queue-row")[bounded];
    if (button) button.focus();
  };

  registerKeys({
    ArrowDown: () => select(index + 1),
    j: () => select(index + 1),
    ArrowUp: () => select(index - 1),
    k: () => select(index - 1),
    Enter: () => rows[index] && onOpen(rows[index]),
    "/": () => searchRef.current && searchRef.current.focus(),
  });

  const summary = queue.list.loaded ? `共 ${queue.list.total} 人` : "正在读取队列…";
  return h(
    "section",
    { className: "wb-queue", "aria-label": "审核队列" },
    h(Filters, { queue, searchRef }),
    h(
      "p",
      { className: "wb-summary" },
      h("span", { role: "status" }, summary),
      h("span", { className: `wb-live wb-live-${queue.live}` }, LIVE_WORDS[queue.live]),
    ),
    rows.length
      ? h(
          "ol",
          { className: "wb-queue-list", ref: listRef },
          rows.map((row, i) => {
            const claim = liveClaim(row.claim, now);
            const time = row.status === "RETURNED" && row.replyDeadline
              ? `回复期限 ${formatTime(row.replyDeadline)}`
              : row.submittedAt ? `提交于 ${formatTime(row.submittedAt)}` : "";
            return h(
              "li",
              { key: row.id },
              h(
                "button",
                {
                  type: "button",
                  className: `wb-queue-row${i === index ? " wb-selected" : ""}${claim && !claim.mine ? " wb-held" : ""}`,
                  tabIndex: i === index ? 0 : -1,
                  "data-candidate": row.id,
                  onClick: () => {
                    setSelected(i);
                    onOpen(row);
                  },
                  onFocus: () => setSelected(i),
                },
                h("span", { className: "wb-name" }, row.name),
                h("span", null, row.admissionNo),
                h("span", null, row.site),
                h("span", { className: `wb-status wb-status-${row.status.toLowerCase()}` }, STATUS_WORDS[row.status]),
                h("span", null, time),
                h("span", { className: claim ? (claim.mine ? "wb-claim" : "wb-claim-other") : "wb-unclaimed" }, claimWords(row.claim, now) || "无人认领"),
              ),
            );
          }),
        )
      : queue.list.loaded
        ? h("p", { className: "wb-empty" }, "没有符合条件的考生。")
        : null,
    queue.list.hasNext
      ? h("button", { type: "button", className: "wb-button", onClick: queue.loadMore }, "加载更多")
      : null,
  );
}
