// Write futurecalls plugins in AssemblyScript (guest ABI v1, see abi/README.md in the
// futurecalls repository).
//
// A plugin's entry file declares itself with plugin() and method(), re-exports the three
// functions the host calls, and is compiled with this package's asc options (see
// README.md): the module then imports nothing but the fc host functions.
//
// The JSON reader and writer here are minimal on purpose: they read the envelopes the
// host sends (well-formed JSON already checked against the manifest) and write requests.

// ---- Host functions --------------------------------------------------------------------

@external("fc", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;
@external("fc", "schedule")
declare function hostSchedule(ptr: usize, len: usize): i64;
@external("fc", "cancel")
declare function hostCancel(ptr: usize, len: usize): i64;
@external("fc", "publish")
declare function hostPublish(ptr: usize, len: usize): i64;
@external("fc", "last_error")
declare function hostLastError(ptr: usize, cap: usize): usize;
@external("fc", "result")
declare function hostResult(ptr: usize, cap: usize): usize;
@external("fc", "http")
declare function hostHttp(ptr: usize, len: usize): i64;
@external("fc", "config")
declare function hostConfig(ptr: usize, len: usize): i64;
@external("fc", "state_get")
declare function hostStateGet(ptr: usize, len: usize): i64;
@external("fc", "state_put")
declare function hostStatePut(kptr: usize, klen: usize, vptr: usize, vlen: usize): i64;
@external("fc", "state_delete")
declare function hostStateDelete(ptr: usize, len: usize): i64;

/** The level of a log line. */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/** Writes a line to the host's log, tagged with the plugin, method and call. */
export function log(level: Level, line: string): void {
  const utf8 = String.UTF8.encode(line);
  hostLog(level, changetype<usize>(utf8), utf8.byteLength);
}

/**
 * Cancels, when the current call succeeds, every call carrying identifier. Returns how
 * many carry it now, or a negative number when the host refused (see lastError).
 */
export function cancel(identifier: string): i64 {
  if (decodeError !== null) return -1;
  const utf8 = String.UTF8.encode(identifier);
  return hostCancel(changetype<usize>(utf8), utf8.byteLength);
}

/** Why the host refused the last request of this call. */
export function lastError(): string {
  if (decodeError !== null) return decodeError!;
  const n = hostLastError(0, 0);
  if (n == 0) return "the host refused the request";
  const buf = new ArrayBuffer(<i32>n);
  hostLastError(changetype<usize>(buf), n);
  return String.UTF8.decode(buf);
}

/**
 * A follow-up call: new Schedule("method").arg("name", value).send(). It is committed
 * only if the current call succeeds.
 */
export class Schedule {
  private pluginName: string | null = null;
  private argsJson: string = "";
  private delayText: string | null = null;
  private atText: string | null = null;
  private identifierText: string | null = null;

  /** A call of method on this plugin, due now unless delay() or at() says otherwise. */
  constructor(private method: string) {}

  /** Calls another plugin. */
  plugin(name: string): Schedule {
    this.pluginName = name;
    return this;
  }

  /**
   * Adds the argument name: a string, number, boolean, an array of them, or an object
   * with a toJson(): string method (a record).
   */
  arg<T>(name: string, value: T): Schedule {
    this.argsJson += (this.argsJson.length == 0 ? "{" : ",") + quote(name) + ":" + toJson<T>(value);
    return this;
  }

  /** Runs the call after delay: a Go duration, plus d for days ("3d", "1h30m"). */
  delay(delay: string): Schedule {
    this.delayText = delay;
    return this;
  }

  /** Runs the call at a time, RFC 3339 ("2026-01-01T09:00:00Z"). */
  at(time: string): Schedule {
    this.atText = time;
    return this;
  }

  /** Gives the call an identifier, by which cancel() finds it. */
  identifier(identifier: string): Schedule {
    this.identifierText = identifier;
    return this;
  }

  /** Asks the host to schedule the call; returns null, or why the host refused. */
  send(): string | null {
    if (decodeError !== null) return decodeError;
    let req = '{"method":' + quote(this.method);
    if (this.pluginName !== null) req += ',"plugin":' + quote(this.pluginName!);
    if (this.argsJson.length > 0) req += ',"args":' + this.argsJson + "}";
    if (this.delayText !== null) req += ',"delay":' + quote(this.delayText!);
    if (this.atText !== null) req += ',"at":' + quote(this.atText!);
    if (this.identifierText !== null) req += ',"identifier":' + quote(this.identifierText!);
    const utf8 = String.UTF8.encode(req + "}");
    return hostSchedule(changetype<usize>(utf8), utf8.byteLength) < 0 ? lastError() : null;
  }
}

/**
 * A message to the calls subscribed to a topic: new Publish("image.uploaded").arg("imageId",
 * 7).send(). The payload is the subscribed calls' arguments. It is stored, and
 * delivered, only if the current call succeeds.
 */
export class Publish {
  private payloadJson: string = "";
  private delayText: string | null = null;
  private identifierText: string | null = null;

  /** A message to topic, delivered now unless delay() says otherwise. */
  constructor(private topic: string) {}

  /** Adds the payload's member name, as Schedule.arg adds an argument. */
  arg<T>(name: string, value: T): Publish {
    this.payloadJson += (this.payloadJson.length == 0 ? "{" : ",") + quote(name) + ":" + toJson<T>(value);
    return this;
  }

  /** Delivers the message after delay, as Schedule.delay. */
  delay(delay: string): Publish {
    this.delayText = delay;
    return this;
  }

  /** Gives every delivery an identifier, by which cancel() finds them. */
  identifier(identifier: string): Publish {
    this.identifierText = identifier;
    return this;
  }

  /**
   * Asks the host to publish the message; returns the number of deliveries, or a
   * negative number when the host refused (see lastError).
   */
  send(): i64 {
    if (decodeError !== null) return -1;
    let req = '{"topic":' + quote(this.topic);
    if (this.payloadJson.length > 0) req += ',"payload":' + this.payloadJson + "}";
    if (this.delayText !== null) req += ',"delay":' + quote(this.delayText!);
    if (this.identifierText !== null) req += ',"identifier":' + quote(this.identifierText!);
    const utf8 = String.UTF8.encode(req + "}");
    return hostPublish(changetype<usize>(utf8), utf8.byteLength);
  }
}

// ---- Capabilities, as the operator grants them (abi/README.md) -------------------------

/** The codes of abi/README.md with which the host refuses a request. */
export enum Code {
  /** The request is malformed (bad JSON, bad URL, a key out of bounds). */
  Invalid = -1,
  /** A per-call limit was reached. */
  Limit = -2,
  /** The host could not do it: a network error, a timeout, the database. */
  HostError = -3,
  /** config or stateGet: the key has no value. */
  NotFound = -4,
  /** http: the operator's grant does not allow this request. */
  Denied = -5,
}

/** The code of the last capability request of this call: 0, or a Code when refused. */
let code: i64 = 0;

/**
 * The code of the last http, config, stateGet, statePut or stateDelete: 0 when the host
 * did it, else a Code (Code.NotFound for a key without a value); lastError says why.
 */
export function lastCode(): i64 {
  return code;
}

/** produced reads the document of length n that a host function returned, or records its refusal. */
function produced(n: i64): ArrayBuffer | null {
  code = n < 0 ? n : 0;
  if (n < 0) return null;
  const doc = new ArrayBuffer(<i32>n);
  hostResult(changetype<usize>(doc), <usize>n);
  return doc;
}

/** refused records what a write returned: null when the host did it, else why not. */
function refused(n: i64): string | null {
  code = n < 0 ? n : 0;
  return n < 0 ? lastError() : null;
}

/**
 * The operator's configuration value for key (sandbox.plugins.<name>.config.<key>),
 * secrets resolved; or null, lastCode() being Code.NotFound when the operator set none.
 * Never log a secret.
 */
export function config(key: string): string | null {
  const k = String.UTF8.encode(key);
  const v = produced(hostConfig(changetype<usize>(k), k.byteLength));
  return v === null ? null : String.UTF8.decode(v);
}

/**
 * An outbound HTTP request: new Request("POST", url).header(name, value).body(text),
 * sent with http().
 */
export class Request {
  private headersJson: string = "";
  private bodyText: string | null = null;

  /** A request with method ("GET", "POST", ...) to url, an absolute http or https URL. */
  constructor(private method: string, private url: string) {}

  /** Sets a header. The host adds Idempotency-Key unless the request sets one. */
  header(name: string, value: string): Request {
    this.headersJson += (this.headersJson.length == 0 ? "{" : ",") + quote(name) + ":" + quote(value);
    return this;
  }

  /** Sets a text body (JSON written with quote and toJson, say). */
  body(text: string): Request {
    this.bodyText = text;
    return this;
  }

  /** The request document of abi/README.md. */
  toJson(): string {
    let req = '{"method":' + quote(this.method) + ',"url":' + quote(this.url);
    if (this.headersJson.length > 0) req += ',"headers":' + this.headersJson + "}";
    if (this.bodyText !== null) req += ',"body":' + quote(this.bodyText!);
    return req + "}";
  }
}

/** The response to a Request: any status is a response, 404 and 500 included. */
export class Response {
  status: i32 = 0;
  /** The headers, an object of strings; several values of one are joined with ", ". */
  headers: Json = new Json();
  /** The body, when it is UTF-8 text. */
  body: string = "";
  /** The body as standard base64, when it is not UTF-8; else null. */
  bodyBase64: string | null = null;

  /** The value of header name, or null. */
  header(name: string): string | null {
    const v = this.headers.get(name);
    return v === null ? null : v.text;
  }
}

/**
 * Makes an outbound HTTP request and waits for the whole response; or returns null when
 * the host refused, lastCode() being Code.Denied for a URL outside the operator's grant.
 */
export function http(request: Request): Response | null {
  if (decodeError !== null) {
    code = Code.Invalid;
    return null;
  }
  const req = String.UTF8.encode(request.toJson());
  const doc = produced(hostHttp(changetype<usize>(req), req.byteLength));
  if (doc === null) return null;
  const v = Json.parse(String.UTF8.decode(doc));
  const r = new Response();
  if (v === null) return r;
  r.status = <i32>v.getInt("status");
  const headers = v.get("headers");
  if (headers !== null) r.headers = headers;
  const body = v.get("body");
  if (body !== null) r.body = body.text;
  const base64 = v.get("bodyBase64");
  if (base64 !== null) r.bodyBase64 = base64.text;
  return r;
}

/**
 * The plugin's value under key as bytes (committed, plus this call's own writes); or
 * null, lastCode() being Code.NotFound when the key has none.
 */
export function stateGetBytes(key: string): ArrayBuffer | null {
  const k = String.UTF8.encode(key);
  return produced(hostStateGet(changetype<usize>(k), k.byteLength));
}

/** The plugin's value under key as UTF-8 text, or null as for stateGetBytes. */
export function stateGet(key: string): string | null {
  const v = stateGetBytes(key);
  return v === null ? null : String.UTF8.decode(v);
}

/** Sets the plugin's value under key, if the call succeeds; null, or why the host refused. */
export function statePutBytes(key: string, value: ArrayBuffer): string | null {
  if (decodeError !== null) return decodeError;
  const k = String.UTF8.encode(key);
  return refused(hostStatePut(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength));
}

/** Sets the plugin's value under key to text, as UTF-8, if the call succeeds. */
export function statePut(key: string, text: string): string | null {
  return statePutBytes(key, String.UTF8.encode(text));
}

/** Deletes the plugin's value under key, if the call succeeds; null, or why the host refused. */
export function stateDelete(key: string): string | null {
  if (decodeError !== null) return decodeError;
  const k = String.UTF8.encode(key);
  return refused(hostStateDelete(changetype<usize>(k), k.byteLength));
}

// ---- JSON ------------------------------------------------------------------------------

/**
 * Why the current call's arguments could not be read as their types, once a getter found
 * out. fc_invoke then fails the call with it, whatever the handler returned, and cancel
 * and Schedule.send refuse, so nothing acts on a wrong value.
 */
let decodeError: string | null = null;

/** The kinds of JSON value. */
export enum Kind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

/** A parsed JSON value. A number keeps its text, so integers read exactly. */
export class Json {
  kind: Kind = Kind.Null;
  /** A string's characters, a number's text, or "true" and "false". */
  text: string = "";
  /** An array's items, or an object's member values. */
  items: Json[] = [];
  /** An object's member names. */
  names: string[] = [];

  /** The member name of an object, or null. */
  get(name: string): Json | null {
    const i = this.names.indexOf(name);
    return i < 0 ? null : this.items[i];
  }

  /** Whether the object has the member name. */
  has(name: string): bool {
    return this.names.includes(name);
  }

  /**
   * The member name, which must be there: a missing one reads as null JSON and fails the
   * call with a message (see decodeError). For an optional member use get(), which
   * returns null when it is missing.
   */
  member(name: string): Json {
    const v = this.get(name);
    if (v !== null) return v;
    if (decodeError === null) decodeError = "missing member " + name;
    return new Json();
  }

  /** The member name as a string. */
  getString(name: string): string {
    return this.member(name).text;
  }

  /**
   * The member name as an integer (1, -7, and 3.0, which JSON Schema counts as one). A
   * number no i64 holds (2^100, say) reads as 0 and fails the call with a message
   * instead: see decodeError.
   */
  getInt(name: string): i64 {
    const text = this.member(name).text;
    if (text.includes(".") || text.includes("e") || text.includes("E")) {
      const f = parseFloat(text);
      // i64 holds [-2^63, 2^63); both bounds are exact as f64.
      if (f >= -9223372036854775808.0 && f < 9223372036854775808.0) return <i64>f;
    } else {
      const v = I64.parseInt(text);
      // parseInt wraps around silently: the digits tell whether it did.
      if (v.toString() == text || text == "-0") return v;
    }
    if (decodeError === null) decodeError = "member " + name + ": " + text + " does not fit in an i64";
    return 0;
  }

  /** The member name as a number. */
  getFloat(name: string): f64 {
    return parseFloat(this.member(name).text);
  }

  /** The member name as a boolean. */
  getBool(name: string): bool {
    return this.member(name).text == "true";
  }

  /** Parses a JSON document, or returns null when it is not well-formed. */
  static parse(text: string): Json | null {
    const p = new Parser(text);
    const v = p.value(0);
    p.ws();
    return p.failed || p.i != text.length ? null : v;
  }
}

/** How deep arrays and objects may nest before parsing gives up. */
const MAX_DEPTH = 128;

class Parser {
  i: i32 = 0;
  failed: bool = false;

  constructor(private s: string) {}

  fail(): Json {
    this.failed = true;
    return new Json();
  }

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.i++;
    }
  }

  eat(c: i32): bool {
    this.ws();
    if (this.i < this.s.length && this.s.charCodeAt(this.i) == c) {
      this.i++;
      return true;
    }
    return false;
  }

  scalar(kind: Kind, text: string): Json {
    const v = new Json();
    v.kind = kind;
    v.text = text;
    return v;
  }

  word(word: string, kind: Kind): Json {
    if (this.s.substr(this.i, word.length) != word) return this.fail();
    this.i += word.length;
    return this.scalar(kind, word);
  }

  value(depth: i32): Json {
    if (depth > MAX_DEPTH || this.failed) return this.fail();
    this.ws();
    if (this.i >= this.s.length) return this.fail();
    const c = this.s.charCodeAt(this.i);
    if (c == 0x6e) return this.word("null", Kind.Null);
    if (c == 0x74) return this.word("true", Kind.Bool);
    if (c == 0x66) return this.word("false", Kind.Bool);
    if (c == 0x22) return this.scalar(Kind.String, this.string());
    if (c == 0x5b || c == 0x7b) return this.container(c == 0x7b, depth);
    const start = this.i;
    while (this.i < this.s.length) {
      const d = this.s.charCodeAt(this.i);
      if (!(d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45 || (d >= 0x30 && d <= 0x39))) break;
      this.i++;
    }
    return start == this.i ? this.fail() : this.scalar(Kind.Number, this.s.substring(start, this.i));
  }

  /** An array, or an object when object is true; at its opening bracket. */
  container(object: bool, depth: i32): Json {
    const v = new Json();
    v.kind = object ? Kind.Object : Kind.Array;
    this.i++;
    if (this.eat(object ? 0x7d : 0x5d)) return v;
    while (!this.failed) {
      if (object) {
        this.ws();
        if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x22) return this.fail();
        v.names.push(this.string());
        if (!this.eat(0x3a)) return this.fail();
      }
      v.items.push(this.value(depth + 1));
      if (this.eat(object ? 0x7d : 0x5d)) return v;
      if (!this.eat(0x2c)) return this.fail();
    }
    return v;
  }

  /** A string's characters, escapes decoded; at its opening quote. */
  string(): string {
    let out = "";
    let start = ++this.i;
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c == 0x22) {
        out += this.s.substring(start, this.i++);
        return out;
      }
      if (c != 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.substring(start, this.i);
      const e = this.i + 1 < this.s.length ? this.s.charCodeAt(this.i + 1) : -1;
      this.i += 2;
      if (e == 0x75) {
        // \uXXXX is one UTF-16 code unit, as AssemblyScript strings are: surrogate pairs
        // come out whole without special handling.
        const code = I32.parseInt(this.s.substr(this.i, 4), 16);
        out += String.fromCharCode(code);
        this.i += 4;
      } else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
      else this.failed = true;
      start = this.i;
    }
    this.failed = true;
    return out;
  }
}

/** Returns s as a JSON string, quotes and escapes included. */
export function quote(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c != 0x22 && c != 0x5c && c >= 0x20) continue;
    out += s.substring(start, i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c == 0x0a) out += "\\n";
    else out += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    start = i + 1;
  }
  return out + s.substring(start) + '"';
}

/**
 * The JSON text of a string, number, boolean, array of these, null, or object with a
 * toJson(): string method (a record). Any other type is a compile-time error that names
 * it.
 */
export function toJson<T>(value: T): string {
  if (isNullable<T>()) {
    if (changetype<usize>(value) == 0) return "null";
  }
  if (isString<T>()) {
    return quote(changetype<string>(value));
  } else if (isBoolean<T>()) {
    return value ? "true" : "false";
  } else if (isInteger<T>() || isFloat<T>()) {
    return value.toString();
  } else if (isArray<T>()) {
    let out = "[";
    // @ts-ignore: T is an array here
    for (let i = 0; i < value.length; i++) {
      // @ts-ignore: T is an array here
      out += (i > 0 ? "," : "") + toJson<valueof<T>>(value[i]);
    }
    return out + "]";
  }
  // @ts-ignore: isDefined tells whether T has toJson, at compile time
  if (isReference<T>() && isDefined(value.toJson)) {
    // @ts-ignore: a record class has toJson()
    return value.toJson();
  }
  ERROR("futurecalls: Schedule.arg and toJson take a string, number, boolean, array, or a class with toJson(): string");
  return "";
}

// ---- Registration and the exports ------------------------------------------------------

/** JSON Schemas of the simple parameter types. */
export const STRING = '{"type": "string"}';
export const INTEGER = '{"type": "integer"}';
export const NUMBER = '{"type": "number"}';
export const BOOLEAN = '{"type": "boolean"}';

/** A parameter of a call: its name, its JSON Schema, and whether it may be left out. */
export class Param {
  constructor(public name: string, public schema: string, public optional: bool = false) {}
}

/** The call being run, from the envelope the host passed. */
export class Call {
  /** The arguments object; the host checked it against the manifest. */
  args: Json = new Json();
  id: i64 = 0;
  plugin: string = "";
  /** When the call was due, RFC 3339 in UTC. */
  scheduledAt: string = "";
  identifier: string | null = null;
  /** Which attempt this is, from 1 to maxAttempts. */
  attempt: i64 = 0;
  maxAttempts: i64 = 0;
  /** The message this call delivers (see Publish); 0 for other calls. */
  messageId: i64 = 0;
}

/** A call's handler returns null on success, or the error message that fails it. */
export type Handler = (call: Call) => string | null;

class Method {
  constructor(public name: string, public description: string, public params: Param[], public run: Handler) {}
}

let manifestHead = "";
let retryJson = "";
const methods: Method[] = [];
let subscriptions = "";

/** Names the plugin; call it once, before method(). */
export function plugin(name: string, version: string = "", description: string = ""): void {
  manifestHead = '{"abi": 1, "name": ' + quote(name);
  if (version.length > 0) manifestHead += ', "version": ' + quote(version);
  if (description.length > 0) manifestHead += ', "description": ' + quote(description);
}

/** Subscribes the call name to topic: every message published there becomes a call. */
export function subscribe(topic: string, call: string): void {
  subscriptions += (subscriptions.length > 0 ? ", " : "") + '{"topic": ' + quote(topic) + ', "call": ' + quote(call) + "}";
}

/**
 * States the default retry policy of the plugin's calls (abi/README.md, Retries): at most
 * maxAttempts attempts, backoff after the first failure and twice that after each next
 * ("1s"), at most maxBackoff apart. The operator's policy and a schedule request's own
 * override it.
 */
export function retry(maxAttempts: i32, backoff: string = "", maxBackoff: string = ""): void {
  retryJson = '{"maxAttempts": ' + maxAttempts.toString();
  if (backoff.length > 0) retryJson += ', "backoff": ' + quote(backoff);
  if (maxBackoff.length > 0) retryJson += ', "maxBackoff": ' + quote(maxBackoff);
  retryJson += "}";
}

/** Registers the call name with its description, parameters and handler. */
export function method(name: string, description: string, params: Param[], run: Handler): void {
  methods.push(new Method(name, description, params, run));
}

/** What fc_manifest or fc_invoke returned last: it must outlive the export. */
let output = new ArrayBuffer(0);
/** The envelope buffer of fc_alloc, outside the garbage-collected heap. */
let input: usize = 0;

function result(text: string): u64 {
  output = String.UTF8.encode(text);
  return (<u64>changetype<usize>(output) << 32) | <u64>output.byteLength;
}

export function fc_alloc(size: usize): usize {
  if (input != 0) heap.free(input);
  input = heap.alloc(size);
  return input;
}

export function fc_manifest(): u64 {
  let calls = "";
  for (let i = 0; i < methods.length; i++) {
    const m = methods[i];
    let params = "";
    for (let j = 0; j < m.params.length; j++) {
      const p = m.params[j];
      params += (j > 0 ? ", " : "") + '{"name": ' + quote(p.name) + ', "schema": ' + p.schema;
      params += p.optional ? ', "optional": true}' : "}";
    }
    calls += (i > 0 ? ", " : "") + '{"name": ' + quote(m.name);
    if (m.description.length > 0) calls += ', "description": ' + quote(m.description);
    calls += ', "params": [' + params + "]}";
  }
  const retryMember = retryJson.length > 0 ? ', "retry": ' + retryJson : "";
  const subs = subscriptions.length > 0 ? ', "subscriptions": [' + subscriptions + "]" : "";
  return result(manifestHead + retryMember + ', "calls": [' + calls + "]" + subs + "}");
}

export function fc_invoke(ptr: usize, len: usize): u64 {
  const envelope = Json.parse(String.UTF8.decodeUnsafe(ptr, len));
  if (envelope === null) return result("the envelope is not well-formed JSON");
  const name = envelope.get("method");
  if (name === null || name.kind != Kind.String) return result("the envelope names no method");
  const call = new Call();
  const args = envelope.get("args");
  if (args !== null) call.args = args;
  const info = envelope.get("call");
  if (info !== null) {
    // For the plugin's information; hosts may add fields.
    if (info.has("id")) call.id = info.getInt("id");
    if (info.has("plugin")) call.plugin = info.getString("plugin");
    if (info.has("scheduledAt")) call.scheduledAt = info.getString("scheduledAt");
    if (info.has("identifier")) call.identifier = info.getString("identifier");
    if (info.has("attempt")) call.attempt = info.getInt("attempt");
    if (info.has("maxAttempts")) call.maxAttempts = info.getInt("maxAttempts");
    if (info.has("messageId")) call.messageId = info.getInt("messageId");
  }
  for (let i = 0; i < methods.length; i++) {
    if (methods[i].name == name.text) {
      decodeError = null;
      code = 0;
      const err = methods[i].run(call);
      if (decodeError !== null) return result(decodeError!);
      return err === null ? 0 : result(err);
    }
  }
  return result("unknown method " + name.text);
}

/**
 * abortHandler replaces AssemblyScript's default abort, an import from "env" the host does
 * not provide: it logs the message at error level, then traps, which fails the call.
 * build with --use abort=~lib/@futurecalls/sdk-assemblyscript/assembly/index/abortHandler
 */
export function abortHandler(
  message: string | null,
  fileName: string | null = null,
  line: u32 = 0,
  column: u32 = 0,
): void {
  let text = "abort: " + (message !== null ? message : "");
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(Level.Error, text);
  unreachable();
}
