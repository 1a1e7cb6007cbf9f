import type * as z from 'zod';

/**
 * zod issues as the one-line messages every error in infera uses: the field path as the caller
 * wrote it (`instances[3].amount`), then what is wrong in plain words. Used by the HTTP edge, the
 * container, the config loader, manifests and batch rows alike.
 */
export function formatIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((iss) => {
    const path = formatPath(prefix, iss.path);
    return `${path ? `${path}: ` : ''}${describeIssue(iss)}`;
  });
}

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function describeIssue(iss: z.core.$ZodIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      return `expected ${iss.expected}, got ${typeOf(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'array')
        return `must have at least ${iss.minimum} item${iss.minimum === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return `must be at least ${iss.minimum} characters`;
      return `must be ${iss.inclusive ? '>=' : '>'} ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'array') return `must have at most ${iss.maximum} items`;
      if (iss.origin === 'string') return `must be at most ${iss.maximum} characters`;
      return `must be ${iss.inclusive ? '<=' : '<'} ${iss.maximum}`;
    case 'invalid_value':
      return `must be one of: ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${iss.keys.length === 1 ? '' : 's'} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_union':
      return iss.message;
    default:
      return iss.message;
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return typeof v;
}
