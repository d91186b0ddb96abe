// The candidate's upload page: lays out the views and starts.

import { session } from "./api.js";
import { hideBanner, showRetry } from "./dialogs.js";
import { h, section } from "./dom.js";
import { attempt, on, profileShown, refresh } from "./store.js";
import { showLogin } from "./views/login.js";
import * as materials from "./views/materials.js";
import * as messages from "./views/messages.js";
import * as profile from "./views/profile.js";
import * as registration from "./views/registration.js";

const app = document.getElementById("app");

/** Lay the page out again; a profile form being typed in stays as it is. */
function showPage() {
  const box = section("profile");
  const typing = box.isConnected && box.querySelector("form");
  const parts = [section("notice"), section("registration")];
  if (profileShown()) parts.push(box);
  parts.push(section("messages"), section("materials"));
  app.replaceChildren(...parts);
  registration.renderAccount();
  registration.renderNotice();
  registration.render();
  if (profileShown() && !typing) profile.render();
  messages.render();
  materials.render();
}

async function enter() {
  await refresh();
  messages.startLive();
  return true;
}

on("page", showPage);
on("signedOut", () => {
  messages.stopLive();
  hideBanner();
  showLogin(enter);
});

window.addEventListener("unhandledrejection", (event) => {
  console.error(event.reason);
  showRetry("页面出现了意外错误，请重试。", () => location.reload());
});

async function boot() {
  if (!session.token) {
    showLogin(enter);
    return;
  }
  app.replaceChildren(h("p", { class: "card empty" }, "正在加载…"));
  const entered = await attempt(enter, { retry: boot });
  // Still signed in but not in: the connection failed, and the banner offers 重试.
  if (!entered && session.token) app.replaceChildren(h("p", { class: "card empty" }, "页面暂时无法加载。"));
}

boot();
