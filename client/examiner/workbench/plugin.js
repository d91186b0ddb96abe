// 「审核台」 as a GraphiQL plugin ({ title, icon, content }): it signs in into GraphiQL's own
// Headers editor, sends every operation through GraphiQL's fetcher and records it in GraphiQL's
// history, so what the workbench did can be opened and run again in a tab.

import { Api } from "./api.js";
import { Workbench } from "./workbench.js";

const { createElement: h, memo, useEffect, useRef } = React;
const { useEditorContext, useHistoryContext } = GraphiQL.React;

export const PLACEHOLDER = "<token>";
const WIDTH_KEY = "exam-review.workbench.width";
const DEFAULT_WIDTH = "3"; // the panel takes three parts of four: pictures need the room

function headersOf(text) {
  try {
    const value = JSON.parse(text || "{}");
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

function tokenIn(text) {
  const value = headersOf(text).Authorization || headersOf(text).authorization || "";
  const token = String(value).replace(/^Bearer\s+/i, "").trim();
  return token && token !== PLACEHOLDER ? token : null;
}

function withToken(text, token) {
  const headers = headersOf(text);
  delete headers.authorization;
  headers.Authorization = `Bearer ${token || PLACEHOLDER}`;
  return JSON.stringify(headers, null, 2);
}

/** Read and write the token where GraphiQL keeps headers: every tab's, and the editor's. */
function tokensOf(editorRef, onHeaders) {
  return {
    read() {
      const editor = editorRef.current;
      const active = editor.tabs[editor.activeTabIndex];
      const text = editor.headerEditor ? editor.headerEditor.getValue() : active && active.headers;
      return tokenIn(text) || editor.tabs.map((tab) => tokenIn(tab.headers)).find(Boolean) || null;
    },
    write(token) {
      const editor = editorRef.current;
      // GraphiQL keeps headers per tab: put the token into each, then show the active tab's.
      for (const tab of editor.tabs) tab.headers = withToken(tab.headers, token);
      const active = editor.tabs[editor.activeTabIndex];
      if (editor.headerEditor) editor.headerEditor.setValue(active ? active.headers : withToken("", token));
      onHeaders(withToken("", token));
    },
  };
}

/** While open, the panel is wide; the width the examiner drags to is kept for next time. */
function useWidePanel(rootRef) {
  useEffect(() => {
    const pane = rootRef.current && rootRef.current.closest(".graphiql-plugin");
    const container = pane && pane.parentElement;
    if (!container) return undefined;
    const before = container.style.flex;
    container.style.flex = localStorage.getItem(WIDTH_KEY) || DEFAULT_WIDTH;
    return () => {
      localStorage.setItem(WIDTH_KEY, container.style.flex.split(" ")[0] || DEFAULT_WIDTH);
      container.style.flex = before;
    };
  }, [rootRef]);
}

const Stable = memo(Workbench);

function icon(props) {
  return h(
    "svg",
    { viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", strokeWidth: 1.6, ...props },
    h("rect", { x: 3, y: 4, width: 18, height: 14, rx: 2 }),
    h("path", { d: "M7 14l3-4 3 3 2-2 3 3" }),
    h("path", { d: "M8 21h8" }),
  );
}

/** The plugin; `onHeaders(text)` hears the headers new tabs should start with. */
export function workbenchPlugin({ fetcher, onHeaders = () => {} }) {
  const api = new Api(fetcher);
  const editorRef = { current: null };
  const tokens = tokensOf(editorRef, onHeaders);

  function content() {
    api.history = useHistoryContext();
    editorRef.current = useEditorContext({ nonNull: true });
    const rootRef = useRef(null);
    useWidePanel(rootRef);
    return h("div", { className: "wb-plugin", ref: rootRef }, h(Stable, { api, tokens }));
  }

  return { title: "审核台", icon, content };
}

/** The headers a new tab should start with: the signed-in token GraphiQL kept, if any. */
export function storedHeaders() {
  const token = tokenIn(localStorage.getItem("graphiql:headers"));
  return withToken("", token);
}
