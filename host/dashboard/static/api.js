// api.js talks to the host's REST API (/v1), the dashboard's only source of data.
// With tokens configured, the user's token is kept in sessionStorage (this tab only)
// and sent as a bearer token; it never goes into a URL or a cookie.

const TOKEN_KEY = "futurecalls.token";

// ApiError is an error answer of the API: its status and its {code, message, …}.
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || "";
    this.violations = error?.violations || [];
    this.requestId = error?.requestId || "";
  }
}

let asking = null;
let tokenHandler = null;

// onTokenNeeded sets the function that asks the user for a token; it returns a
// promise of the token, and gets the reason it is asked (absent or refused).
export function onTokenNeeded(fn) {
  tokenHandler = fn;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

// askToken asks for a token once, however many requests are waiting for it.
function askToken(reason) {
  if (!asking) {
    asking = tokenHandler(reason).then((t) => {
      sessionStorage.setItem(TOKEN_KEY, t);
      asking = null;
      return t;
    });
  }
  return asking;
}

// api sends a request and returns the decoded answer, or throws an ApiError. A 401
// asks for a token and tries again with it.
export async function api(method, path, body) {
  for (;;) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
    });
    const data = await resp.json().catch(() => null);
    if (resp.status === 401 && tokenHandler) {
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken(t ? "The token was refused." : "");
      continue;
    }
    if (!resp.ok) throw new ApiError(resp.status, data?.error);
    return data;
  }
}

// query builds a query string from the non-empty values of params.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

let pluginsCache = null;

// plugins returns the loaded plugins, fetched once per page load, or anew when fresh:
// they change when the host reloads its plugins.
export async function plugins(fresh = false) {
  if (!pluginsCache || fresh) pluginsCache = api("GET", "/v1/plugins").then((p) => p.plugins);
  try {
    return await pluginsCache;
  } catch (e) {
    pluginsCache = null;
    throw e;
  }
}
