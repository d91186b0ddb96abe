// Sign-in. The form's error line shows the page notice: on this view there is no other place.

import { graphql } from "../api.js";
import { h } from "../dom.js";
import * as op from "../operations.js";
import { attempt, on, reportErrors, setNotice, signedIn, state } from "../store.js";

const app = document.getElementById("app");
const account = document.getElementById("account");

function showNotice() {
  const line = document.getElementById("login-error");
  if (!line) return;
  line.textContent = state.notice || "";
  line.hidden = !state.notice;
}

on("notice", showNotice);

/** enter(): open the page once signed in. */
export function showLogin(enter) {
  account.replaceChildren();
  const error = h("p", { class: "form-error", role: "alert", id: "login-error" });
  const form = h("form", { class: "card login", novalidate: true },
    h("h2", {}, "考生登录"),
    h("p", { class: "hint" }, "请使用报名系统的用户名和密码登录，首次登录即激活账号。"),
    h("label", { for: "username" }, "用户名"),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true }),
    h("label", { for: "password" }, "密码"),
    h("input", {
      id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
    }),
    error,
    h("button", { type: "submit", class: "button wide" }, "登录"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const username = form.username.value.trim();
    const password = form.password.value;
    if (!username || !password) {
      setNotice("请输入用户名和密码。");
      return;
    }
    attempt(() => signIn(username, password, error, enter));
  });
  app.replaceChildren(form);
  showNotice();
  form.username.focus();
}

async function signIn(username, password, error, enter) {
  const payload = (await graphql(op.LOGIN, { username, password })).login;
  if (reportErrors(payload.errors)) return;
  if (payload.role !== "CANDIDATE") {
    error.replaceChildren("此页面供考生上传材料。考务人员请使用 ", h("a", { href: "/graphql" }, "GraphiQL"), "。");
    error.hidden = false;
    return;
  }
  signedIn(payload.token);
  await enter();
}
