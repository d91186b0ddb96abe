// Building the page's elements without a framework.

/** An element with its attributes (onX: listeners, class, dataset) and children. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "class") element.className = value;
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Replace a box's children, skipping the null and false that conditional parts leave. */
export function fill(box, ...children) {
  box.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

/** The page's section with this id, or a new one when it is not on the page. */
export function section(id) {
  return document.getElementById(id) || h("section", { id });
}

/** The messages as a list, announced when it appears; null when there are none. */
export function errorList(messages, extra = {}) {
  if (!messages || !messages.length) return null;
  // The alert role goes around the list: on the <ul> itself it would hide that this is a list.
  return h("div", { role: "alert" },
    h("ul", { class: "errors", ...extra }, messages.map((m) => h("li", {}, m))));
}
