// A value that a validator has checked and copied, carried as a branded type
// so that a later stage can take it without checking it again (a spawn used
// to validate its cgroup limits, cgroup parent and seccomp policy twice).
// The brand is for the compiler; objects are also remembered at runtime
// (and frozen, so what was checked is what is used), for the public entry
// points that accept either a raw or an already validated value.
declare const validatedBrand: unique symbol;
export type Validated<T> = T & { readonly [validatedBrand]: true };

const seen = new WeakSet<object>();

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
}

/** Marks what a validator returns (its own copy) as validated. */
export function markValidated<T>(value: T): Validated<T> {
  if (typeof value === 'object' && value !== null) {
    deepFreeze(value);
    seen.add(value);
  }
  return value as Validated<T>;
}

/** Whether `value` is an object a validator returned. */
export function isValidated<T extends object>(value: T): value is Validated<T> {
  return seen.has(value);
}
