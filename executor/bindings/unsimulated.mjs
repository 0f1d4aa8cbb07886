// Bindings the executor does not simulate: an object that answers the probes Pyodide and
// the host make (then, Symbol.*, toString, ...) harmlessly and throws one clear line the
// moment the worker uses it (reads a property or calls it).
export class UnsimulatedBindingError extends Error {
  constructor(name, kind) {
    super(`binding ${name} (${kind}) is not simulated by almanac run/dev; run the worker on the platform (wrangler dev --remote) to use it`);
    this.name = "UnsimulatedBindingError";
  }
}

// Property names looked at by Pyodide's JsProxy creation, node:util.inspect, JSON, await.
const PROBES = new Set(["then", "toJSON", "constructor", "length", "size", "nodeType", "$$typeof", "asymmetricMatch", "inspect", "valueOf"]);

export function unsimulated(name, kind) {
  const fail = () => {
    throw new UnsimulatedBindingError(name, kind);
  };
  const target = function () {};
  return new Proxy(target, {
    get(_t, prop) {
      if (typeof prop === "symbol" || PROBES.has(prop)) return undefined;
      if (prop === "toString") return () => `[unsimulated ${kind} binding ${name}]`;
      fail();
    },
    has: () => false,
    apply: fail,
    construct: fail,
    set: fail,
    ownKeys: () => ["prototype"],
    getOwnPropertyDescriptor: (_t, p) => (p === "prototype" ? Reflect.getOwnPropertyDescriptor(target, p) : undefined),
  });
}

// [config key, per-entry name key, kind (a function of the entry for services & co.)]
export const UNSIMULATED = [
  ["ai", "binding", () => "Workers AI"],
  ["vectorize", "binding", (e) => `Vectorize index ${e.index_name ?? "?"}`],
  ["hyperdrive", "binding", () => "Hyperdrive"],
  ["services", "binding", (e) => `service binding to worker ${e.service ?? "?"}`],
  ["analytics_engine_datasets", "binding", () => "Analytics Engine dataset"],
  ["browser", "binding", () => "Browser Rendering"],
  ["images", "binding", () => "Images"],
  ["send_email", "name", () => "Send Email"],
  ["dispatch_namespaces", "binding", () => "dispatch namespace"],
  ["mtls_certificates", "binding", () => "mTLS certificate"],
  ["workflows", "binding", (e) => `Workflow ${e.name ?? e.class_name ?? "?"}`],
  ["secrets_store_secrets", "binding", () => "Secrets Store secret"],
  ["pipelines", "binding", () => "Pipeline"],
  ["ratelimits", "name", () => "rate limiter"],
  ["unsafe_hello_world", "binding", () => "unsafe binding"],
];
