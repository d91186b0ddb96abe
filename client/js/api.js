// Talking to the service: JSON over fetch, uploads over XMLHttpRequest (for progress and cancel).

const TOKEN_KEY = "exam-review.token";
const ENDPOINT = "/graphql";

/**
 * The connection failed or the server broke (a 5xx, or an error it masked): the person may
 * retry. requestId: the server's id of the failed request, for the person to quote.
 */
export class NetworkError extends Error {
  constructor(message, requestId = null) {
    super(message);
    this.requestId = requestId;
  }
}
/** The token is missing, expired or revoked. */
export class SignedOut extends Error {}
/** A GraphQL error meant for people (its message is Chinese). */
export class RequestError extends Error {}
/** The person cancelled an upload. */
export class Cancelled extends Error {}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

function headers() {
  const found = { "Content-Type": "application/json", Accept: "application/json" };
  if (session.token) found.Authorization = `Bearer ${session.token}`;
  return found;
}

function readResponse(status, text, requestId) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (status >= 500 || status === 0) {
    throw new NetworkError(`服务器暂时无法处理请求（${status || "无响应"}），请稍后重试。`, requestId);
  }
  if (body === null || typeof body !== "object") {
    throw new NetworkError(`服务器返回了无法识别的内容（${status}），请重试。`);
  }
  const errors = body.errors || [];
  const code = (error) => error && error.extensions && error.extensions.code;
  const unauthenticated = errors.find((e) => code(e) === "UNAUTHENTICATED");
  if (unauthenticated) throw new SignedOut(unauthenticated.message);
  // The server broke (and masked why), or a part it needs is down: worth a retry, and the id
  // leads to the request's log line.
  const broken = errors.find((e) => ["INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"].includes(code(e)));
  if (broken) throw new NetworkError(broken.message, broken.extensions.requestId || requestId);
  if (errors.length) throw new RequestError(errors[0].message || "请求失败，请重试。");
  if (!body.data) throw new NetworkError("服务器没有返回数据，请重试。");
  return body.data;
}

/** POST one operation; resolves to `data`, or throws one of the errors above. */
export async function graphql(query, variables = {}) {
  let response;
  let text;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ query, variables }),
    });
    text = await response.text();
  } catch {
    throw new NetworkError("网络连接失败，请检查网络后重试。");
  }
  return readResponse(response.status, text, response.headers.get("X-Request-Id"));
}

/**
 * Send one file per the GraphQL multipart request spec, with the Authorization header
 * (the server refuses multipart requests without it).
 * Returns { promise, cancel }; onProgress gets a fraction 0..1.
 */
export function upload(query, variables, blob, filename, onProgress) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("operations", JSON.stringify({ query, variables: { ...variables, file: null } }));
    form.append("map", JSON.stringify({ 0: ["variables.file"] }));
    form.append("0", blob, filename);
    xhr.open("POST", ENDPOINT);
    xhr.setRequestHeader("Accept", "application/json");
    if (session.token) xhr.setRequestHeader("Authorization", `Bearer ${session.token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      try {
        resolve(readResponse(xhr.status, xhr.responseText, xhr.getResponseHeader("X-Request-Id")));
      } catch (error) {
        reject(error);
      }
    };
    xhr.onerror = () => reject(new NetworkError("网络连接中断，图片没有上传成功，请重试。"));
    xhr.ontimeout = () => reject(new NetworkError("上传超时，请检查网络后重试。"));
    xhr.onabort = () => reject(new Cancelled("已取消上传。"));
    xhr.timeout = 120000;
    xhr.send(form);
  });
  return { promise, cancel: () => xhr.abort() };
}
