// 完善个人信息 / 修改个人信息: phone and address, with the server's errors under each field.

import { graphql } from "../api.js";
import { errorList, fill, h } from "../dom.js";
import * as op from "../operations.js";
import { attempt, editProfile, on, profileSaved, reportErrors, state } from "../store.js";

/** A field's description (its hint, then its errors) and whether it is invalid, for screen readers. */
function fieldAria(field, hint = null) {
  const errors = state.fieldErrors[field];
  const describedBy = [hint, errors ? `${field}-errors` : null].filter(Boolean).join(" ");
  return { "aria-describedby": describedBy || null, "aria-invalid": errors ? "true" : null };
}

/** Build the form; what the person typed in the form it replaces is kept. */
export function render() {
  const box = document.getElementById("profile");
  if (!box || !state.me) return;
  const me = state.me;
  const typed = box.querySelector("form");
  const values = typed
    ? { phone: typed.phone.value, address: typed.address.value }
    : { phone: me.phone || "", address: me.address || "" };
  const errors = state.fieldErrors;
  const form = h("form", { novalidate: true },
    h("h2", {}, me.profileComplete ? "修改个人信息" : "完善个人信息"),
    me.profileComplete ? null : h("p", { class: "hint" }, "请先填写手机号码和联系地址，再上传材料。"),
    h("label", { for: "phone" }, "手机号码", h("span", { class: "req" }, "*")),
    h("input", {
      id: "phone", name: "phone", type: "tel", inputmode: "numeric", maxlength: "11",
      autocomplete: "tel", value: values.phone, ...fieldAria("phone", "phone-hint"),
    }),
    h("p", { class: "hint", id: "phone-hint" }, "审核结果会以短信发送到这个手机号码。"),
    errorList(errors.phone, { id: "phone-errors" }),
    h("label", { for: "address" }, "联系地址", h("span", { class: "req" }, "*")),
    h("textarea", {
      id: "address", name: "address", rows: "2", autocomplete: "street-address", ...fieldAria("address"),
    }, values.address),
    errorList(errors.address, { id: "address-errors" }),
    h("div", { class: "form-actions" },
      me.profileComplete
        ? h("button", { type: "button", class: "button secondary", onclick: () => editProfile(false) }, "取消")
        : null,
      h("button", { type: "submit", class: "button" }, "保存"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attempt(() => save(form.phone.value.trim(), form.address.value.trim()));
  });
  box.className = "card profile";
  fill(box, form);
}

on("profile", render);

async function save(phone, address) {
  const payload = (await graphql(op.UPDATE_PROFILE, { phone, address })).updateProfile;
  if (!reportErrors(payload.errors)) profileSaved(payload.candidate);
}
