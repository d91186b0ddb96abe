// Sign-in inside the workbench: the token it gets goes into GraphiQL's Headers editor.

const { createElement: h, useEffect, useRef, useState } = React;

export function SignIn({ busy, onSignIn }) {
  const [username, setUsername] = useState(() => sessionStorage.getItem("exam-review.workbench.username") || "");
  const [password, setPassword] = useState("");
  const usernameRef = useRef(null);
  const passwordRef = useRef(null);
  useEffect(() => {
    const field = username ? passwordRef.current : usernameRef.current;
    if (field) field.focus();
  }, []); // eslint-disable-line react-hooks/exhaustive-deps
  const submit = (event) => {
    event.preventDefault();
    onSignIn(username.trim(), password);
  };
  return h(
    "form",
    { className: "wb-signin", onSubmit: submit, "aria-labelledby": "wb-signin-title" },
    h("h3", { id: "wb-signin-title" }, "考务人员登录"),
    h(
      "label",
      { className: "wb-field" },
      h("span", null, "用户名"),
      h("input", {
        ref: usernameRef,
        type: "text",
        autoComplete: "username",
        required: true,
        value: username,
        onChange: (event) => setUsername(event.target.value),
      }),
    ),
    h(
      "label",
      { className: "wb-field" },
      h("span", null, "密码"),
      h("input", {
        ref: passwordRef,
        type: "password",
        autoComplete: "current-password",
        required: true,
        value: password,
        onChange: (event) => setPassword(event.target.value),
      }),
    ),
    h("button", { type: "submit", className: "wb-button wb-primary", disabled: busy }, busy ? "正在登录…" : "登录"),
    h(
      "p",
      { className: "wb-hint" },
      "登录后，令牌会写入 GraphiQL 的 Headers，各个标签页里的操作都可以直接运行。",
    ),
  );
}
