// schema.prisma, told about an enum change: the `enum Role { … }` block takes the new labels in
// their order, and `@default(USER)` on a field of that enum follows the mapping. Everything else
// stays byte for byte: comments (a value's trailing comment goes with the value's line),
// `@map` / `@@map` / `@@schema`, blank lines, indentation, line endings.
import type { EnumSpec } from './enum-spec.js';
import { labelAfter } from './enum-spec.js';

export type SchemaPatch =
  | { state: 'patched'; text: string }
  | { state: 'already' } // the block already has the new labels
  | { state: 'refused'; why: string };

const VALUE = /^(\s*)([A-Za-z][A-Za-z0-9_]*)(.*)$/;

export function patchSchemaPrisma(text: string, spec: EnumSpec): SchemaPatch {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const start = lines.findIndex((l) => new RegExp(`^\\s*enum\\s+${spec.type}\\s*\\{\\s*(//.*)?$`).test(l));
  if (start < 0) return { state: 'refused', why: `schema.prisma has no \`enum ${spec.type} { … }\` block` };
  const end = lines.findIndex((l, i) => i > start && /^\s*\}/.test(l));
  if (end < 0) return { state: 'refused', why: `the \`enum ${spec.type}\` block of schema.prisma is not closed` };

  // Value lines of the block (not comments, not @@ attributes).
  const slots: { i: number; indent: string; label: string; rest: string }[] = [];
  for (let i = start + 1; i < end; i++) {
    const m = VALUE.exec(lines[i]);
    if (m && !lines[i].trim().startsWith('//')) slots.push({ i, indent: m[1], label: m[2], rest: m[3] });
  }
  const labels = slots.map((s) => s.label);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, k) => x === b[k]);
  if (same(labels, spec.to)) return { state: 'already' };
  if (!same(labels, spec.from)) {
    const has = labels.join(', ') || 'no values';
    return {
      state: 'refused',
      why:
        `\`enum ${spec.type}\` in schema.prisma has ${has}, ` +
        `neither ${spec.from.join(', ')} (before) nor ${spec.to.join(', ')} (after)`,
    };
  }
  if (slots.some((s) => /@map\(/.test(s.rest) && labelAfter(spec, s.label) !== s.label)) {
    return {
      state: 'refused',
      why: `a value of \`enum ${spec.type}\` that changes has @map(…): its database label is not its name`,
    };
  }

  // The new value lines, in the new order: a kept or mapped label keeps its line (and comment).
  const indent = slots[0]?.indent ?? '  ';
  const wanted = spec.to.map((label) => {
    const source = slots.find((s) => labelAfter(spec, s.label) === label);
    return source ? `${source.indent}${label}${source.rest}` : `${indent}${label}`;
  });
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const k = slots.findIndex((s) => s.i === i);
    if (k < 0) out.push(lines[i]);
    else if (k < slots.length - 1)
      out.push(...wanted.slice(k, k + 1)); // none when labels were removed
    else out.push(...wanted.slice(k)); // the last value's slot takes the rest
  }

  // @default(USER) / @default([USER, ADMIN]) on a field of this enum.
  const field = new RegExp(`^(\\s*\\w+\\s+${spec.type}(\\?|\\[\\])?\\s.*@default\\()(\\[?[^)]*)(\\).*)$`);
  for (let i = 0; i < out.length; i++) {
    const m = field.exec(out[i]);
    if (!m) continue;
    const value = m[3].replace(/[A-Za-z][A-Za-z0-9_]*/g, (l) =>
      spec.from.includes(l) ? (labelAfter(spec, l) ?? l) : l,
    );
    out[i] = `${m[1]}${value}${m[4]}`;
  }
  return { state: 'patched', text: out.join(eol) };
}
