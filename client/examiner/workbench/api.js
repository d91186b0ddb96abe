// How the workbench talks to the service: through GraphiQL's own fetcher, and every operation
// is written into GraphiQL's history first, so an examiner can open and re-run it there.

/** The token is missing, expired or revoked: back to sign-in. */
export class SignedOut extends Error {}
/** The request failed (network, server, or a GraphQL error meant for people). */
export class RequestFailed extends Error {}
/** The payload's `errors`: each { code, message, field }, Chinese messages ready to show. */
export class Refused extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("；"));
    this.errors = errors;
  }

  has(code) {
    return this.errors.some((e) => e.code === code);
  }
}

const { parse } = GraphiQL.GraphQL;

function operationName(documentAST) {
  const operation = documentAST.definitions.find((d) => d.kind === "OperationDefinition");
  return operation && operation.name ? operation.name.value : null;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** GraphQL errors → SignedOut, or RequestFailed with the first message (Chinese from the service). */
function check(result) {
  if (!result || typeof result !== "object") {
    throw new RequestFailed("服务器返回了无法识别的内容，请重试。");
  }
  const errors = result.errors || [];
  const code = (error) => error && error.extensions && error.extensions.code;
  const unauthenticated = errors.find((e) => code(e) === "UNAUTHENTICATED");
  if (unauthenticated) throw new SignedOut(unauthenticated.message || "登录已过期，请重新登录。");
  if (errors.length) throw new RequestFailed(errors[0].message || "请求失败，请重试。");
  if (!result.data) throw new RequestFailed("服务器没有返回数据，请重试。");
  return result.data;
}

export class Api {
  constructor(fetcher) {
    this.fetcher = fetcher;
    this.token = null;
    // Set by the plugin on every render: GraphiQL's history context.
    this.history = null;
    this.parsed = new Map();
  }

  headers() {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  documentAST(document) {
    if (!this.parsed.has(document)) this.parsed.set(document, parse(document));
    return this.parsed.get(document);
  }

  /** Put the operation into GraphiQL's history; `shown` replaces variables nobody should keep. */
  remember(document, variables, shown) {
    if (!this.history) return;
    this.history.addToHistory({
      query: document,
      variables: pretty(shown || variables),
      headers: pretty(this.headers()),
      operationName: operationName(this.documentAST(document)),
    });
  }

  /** Run a query or mutation; resolves to `data`. */
  async run(document, variables = {}, { shown } = {}) {
    const documentAST = this.documentAST(document);
    this.remember(document, variables, shown);
    let result;
    try {
      result = await this.fetcher(
        { query: document, variables, operationName: operationName(documentAST) },
        { headers: this.headers(), documentAST },
      );
      if (result && typeof result[Symbol.asyncIterator] === "function") {
        const first = await result[Symbol.asyncIterator]().next();
        result = await first.value;
      }
    } catch (error) {
      if (error instanceof SyntaxError) {
        throw new RequestFailed("服务器暂时无法处理请求，请稍后重试。");
      }
      throw new RequestFailed("无法连接服务器，请检查网络后重试。");
    }
    return check(result);
  }

  /** Run a mutation and return its payload; the payload's `errors` become Refused. */
  async mutate(document, variables, field, options) {
    const payload = (await this.run(document, variables, options))[field];
    if (payload && payload.errors && payload.errors.length) throw new Refused(payload.errors);
    return payload;
  }

  /**
   * A subscription over GraphiQL's own socket client. onData(data) per event; onEnd(error) when it
   * stops by itself. Returns stop().
   */
  subscribe(document, { onData, onEnd }) {
    const documentAST = this.documentAST(document);
    this.remember(document, {});
    let stopped = false;
    let iterator = null;
    (async () => {
      try {
        const stream = await this.fetcher(
          { query: document, variables: {}, operationName: operationName(documentAST) },
          { headers: this.headers(), documentAST },
        );
        iterator = stream[Symbol.asyncIterator]();
        if (stopped) {
          iterator.return && iterator.return();
          return;
        }
        for (;;) {
          const { value, done } = await iterator.next();
          if (done || stopped) break;
          onData(check(value));
        }
        if (!stopped) onEnd(null);
      } catch (error) {
        if (!stopped) onEnd(error);
      }
    })();
    return () => {
      stopped = true;
      if (iterator && iterator.return) iterator.return();
    };
  }
}
