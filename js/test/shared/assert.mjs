// A tiny assertion library that runs in Node and in browsers (the checks are shared).
function show(v) {
  try {
    return typeof v === "string" ? JSON.stringify(v.length > 80 ? v.slice(0, 80) + "…" : v)
      : typeof v === "bigint" ? `${v}n`
      : JSON.stringify(v, (k, x) => (typeof x === "bigint" ? `${x}n` : x));
  } catch { return String(v); }
}
export class AssertionError extends Error {}
export function ok(value, message = "expected a truthy value") {
  if (!value) throw new AssertionError(`${message} (got ${show(value)})`);
}
export function equal(actual, expected, message = "") {
  if (!Object.is(actual, expected)) throw new AssertionError(`${message ? message + ": " : ""}expected ${show(expected)}, got ${show(actual)}`);
}
export function notEqual(actual, expected, message = "") {
  if (Object.is(actual, expected)) throw new AssertionError(`${message ? message + ": " : ""}expected anything but ${show(expected)}`);
}
export function deepEqual(actual, expected, message = "") {
  const a = show(normalize(actual)), e = show(normalize(expected));
  if (a !== e) throw new AssertionError(`${message ? message + ": " : ""}expected ${e}, got ${a}`);
}
function normalize(v) {
  if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Array.from(v, x => (typeof x === "bigint" ? `${x}n` : x)) };
  if (v instanceof ArrayBuffer) return { ArrayBuffer: Array.from(new Uint8Array(v)) };
  return v;
}
export function throws(fn, pattern, message = "expected an exception") {
  let threw = false, err;
  try { fn(); } catch (e) { threw = true; err = e; }
  if (!threw) throw new AssertionError(message);
  if (pattern && !pattern.test(String(err && err.message))) {
    throw new AssertionError(`${message}: message ${show(String(err && err.message))} does not match ${pattern}`);
  }
  return err;
}
