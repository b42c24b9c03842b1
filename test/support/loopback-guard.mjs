// Preload guard for the whole test suite: any TCP connection or DNS lookup to anything but loopback
// fails at once and is recorded, so a misconfigured SDK (the GCP client probing 169.254.169.254, an
// Azure credential calling login.microsoftonline.com) can never reach a real cloud from a test.
//
// Loaded with `--import` into every CLI process the tests spawn, and as a vitest setup file in-process.
// Violations are appended to $CLAUDE_CREDS_GUARD_LOG (when set) because SDKs often swallow the error;
// the global teardown fails the run when that file is not empty.
//
// Names under `.localhost` (RFC 6761) resolve to 127.0.0.1 here, so TLS tests can use a vault host
// such as `myvault.vault.localhost` whose domain matches the service's challenge resource.
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';

const marker = Symbol.for('claude-creds.loopback-guard');

function isLoopbackAddress(host) {
  if (typeof host !== 'string') return false;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || bare.startsWith('::ffff:127.');
  return false;
}

function isLoopbackName(host) {
  if (typeof host !== 'string') return false;
  const lower = host.toLowerCase().replace(/\.$/, '');
  return lower === 'localhost' || lower.endsWith('.localhost') || isLoopbackAddress(lower);
}

function record(what) {
  const line = `loopback-guard: blocked ${what} (pid ${process.pid})\n`;
  try {
    process.stderr.write(line);
  } catch {}
  const log = process.env.CLAUDE_CREDS_GUARD_LOG;
  if (log) {
    try {
      fs.appendFileSync(log, line);
    } catch {}
  }
  const error = new Error(`loopback-guard: ${what} is not allowed in tests`);
  error.code = 'ECONNREFUSED';
  return error;
}

if (!globalThis[marker]) {
  globalThis[marker] = true;

  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const first = args[0];
    let options;
    if (Array.isArray(first)) options = first[0];
    else if (typeof first === 'object' && first !== null) options = first;
    else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      options = { port: first, host: typeof args[1] === 'string' ? args[1] : 'localhost' };
    } else if (typeof first === 'string') options = { path: first };
    if (options && options.path === undefined) {
      const host = options.host ?? 'localhost';
      if (!isLoopbackName(host)) {
        const error = record(`connection to ${host}:${options.port}`);
        process.nextTick(() => this.destroy(error));
        return this;
      }
    }
    return originalConnect.apply(this, args);
  };

  const loopbackAnswer = (family, all) => {
    const v6 = family === 6 || family === 'IPv6';
    const address = v6 ? '::1' : '127.0.0.1';
    const entry = { address, family: v6 ? 6 : 4 };
    return all ? [entry] : entry;
  };

  const originalLookup = dns.lookup;
  dns.lookup = function guardedLookup(hostname, options, callback) {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'object' && options !== null ? options : { family: options };
    if (isLoopbackAddress(hostname) || hostname === 'localhost') {
      return originalLookup.call(dns, hostname, options, callback);
    }
    if (isLoopbackName(hostname)) {
      const answer = loopbackAnswer(opts.family, opts.all);
      process.nextTick(() => (opts.all ? cb(null, answer) : cb(null, answer.address, answer.family)));
      return {};
    }
    const error = record(`DNS lookup of ${hostname}`);
    error.code = 'ENOTFOUND';
    process.nextTick(() => cb(error));
    return {};
  };

  const originalPromiseLookup = dns.promises.lookup;
  dns.promises.lookup = async function guardedPromiseLookup(hostname, options = {}) {
    const opts = typeof options === 'object' ? options : { family: options };
    if (isLoopbackAddress(hostname) || hostname === 'localhost') return originalPromiseLookup.call(dns.promises, hostname, options);
    if (isLoopbackName(hostname)) return loopbackAnswer(opts.family, opts.all);
    const error = record(`DNS lookup of ${hostname}`);
    error.code = 'ENOTFOUND';
    throw error;
  };

  // Resolver queries (grpc-js uses them for names that are not IP literals).
  const resolverMethods = Object.getOwnPropertyNames(dns.Resolver.prototype).filter((name) => name.startsWith('resolve'));
  for (const target of [dns, dns.Resolver.prototype]) {
    for (const name of resolverMethods) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      target[name] = function guardedResolve(hostname, ...rest) {
        if (isLoopbackName(hostname)) return original.call(this, hostname, ...rest);
        const cb = rest.find((arg) => typeof arg === 'function');
        const error = record(`DNS ${name} of ${hostname}`);
        error.code = 'ENOTFOUND';
        if (cb) process.nextTick(() => cb(error));
        return undefined;
      };
    }
  }
  for (const target of [dns.promises, dns.promises.Resolver.prototype]) {
    for (const name of resolverMethods) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      target[name] = async function guardedPromiseResolve(hostname, ...rest) {
        if (isLoopbackName(hostname)) return original.call(this, hostname, ...rest);
        const error = record(`DNS ${name} of ${hostname}`);
        error.code = 'ENOTFOUND';
        throw error;
      };
    }
  }
}
