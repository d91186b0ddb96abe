// The reviewEvents subscription over graphql-transport-ws, reconnecting with backoff.

const PROTOCOL = "graphql-transport-ws";
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const BAD_TOKEN = 4403;

export class LiveEvents {
  /**
   * onEvent(data): one `next` payload's data.
   * onConnected(): after every acknowledged (re)connection, so the page can re-read what it missed.
   * onState("connecting" | "open" | "retrying"), onSignedOut().
   */
  constructor({ query, token, onEvent, onConnected, onState, onSignedOut }) {
    Object.assign(this, { query, token, onEvent, onConnected, onState, onSignedOut });
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.wakeUp = () => {
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
        this.connect();
      }
    };
  }

  start() {
    window.addEventListener("online", this.wakeUp);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.wakeUp);
    clearTimeout(this.timer);
    this.timer = null;
    if (this.socket) this.socket.close(1000, "bye");
    this.socket = null;
  }

  connect() {
    if (this.stopped) return;
    const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/graphql`;
    this.onState(this.attempt === 0 ? "connecting" : "retrying");
    let socket;
    try {
      socket = new WebSocket(url, PROTOCOL);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.send({ type: "connection_init", payload: { Authorization: `Bearer ${this.token}` } });
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (event.code === BAD_TOKEN) {
        this.stopped = true;
        this.onSignedOut();
        return;
      }
      this.retry();
    };
  }

  retry() {
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt += 1;
    this.onState("retrying");
    // Jitter, so thousands of pages do not all come back in the same second after an outage.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    switch (message.type) {
      case "connection_ack":
        this.attempt = 0;
        this.send({ id: "review-events", type: "subscribe", payload: { query: this.query } });
        this.onState("open");
        this.onConnected();
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next":
        if (message.payload && message.payload.data) this.onEvent(message.payload.data);
        break;
      case "error":
      case "complete":
        // The server ended the subscription: start over on a fresh socket.
        if (this.socket) this.socket.close(1000, "resubscribe");
        break;
      default:
        break;
    }
  }
}
