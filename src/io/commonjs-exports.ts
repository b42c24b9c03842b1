/**
 * The exports of a CommonJS module loaded with `import()`: Node exposes them by name, but a bundle's
 * interop may put them only under `default`. `probe` is an export that must exist.
 */
export function commonJsExports<T extends object>(module: T | { default: T }, probe: keyof T): T {
  if (probe in module) return module as T;
  const fallback = (module as { default?: T }).default;
  if (fallback !== undefined && probe in fallback) return fallback;
  throw new Error(`the module has no export "${String(probe)}"`);
}
