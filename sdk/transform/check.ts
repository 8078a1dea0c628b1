// Checks the hooks an entry file exports against hooks.ts, on the program asc has initialized
// (every declaration known, nothing compiled yet). Types are read from the source: the resolved
// wasm types cannot tell `string` from `Str`, nor an enum from i32.
import type {
  DeclaredElement, Element, File, FunctionPrototype, NamedTypeNode, Program, Range, TypeDefinition, TypeNode,
} from "assemblyscript";
import { ElementKind, NodeKind, ParameterKind, ReportMode, SourceKind, TypeKind } from "assemblyscript";
import { HOOKS, type HookForm, editDistance, formatForm, formatForms, quoteAlternatives } from "./hooks.js";

export interface Problem {
  readonly range: Range;
  readonly message: string;
}

// Aliases (`type D = Decision`) are followed this far; deeper chains are reported as written.
const MAX_ALIAS_DEPTH = 8;
// Exports this close to a hook's name (case ignored) are taken for a misspelt hook.
const MISSPELLING_DISTANCE = 2;

/**
 * What a type node names, in the notation of hooks.ts: "Str", "Str | null", "string", "bool",
 * "Access"... or null when asc cannot resolve it (asc reports that itself).
 */
function describeType(program: Program, node: TypeNode, ctx: Element): string | null {
  let current: TypeNode = node;
  let nullable = node.isNullable;
  for (let depth = 0; depth < MAX_ALIAS_DEPTH && current.kind === NodeKind.NamedType; depth++) {
    const named = current as NamedTypeNode;
    if (named.typeArguments && named.typeArguments.length > 0) break;
    const element = program.resolver.resolveTypeName(named.name, null, ctx, ReportMode.Swallow);
    if (!element) break;
    if (element.kind === ElementKind.Enum) return element.name;
    if (element.kind !== ElementKind.TypeDefinition) break;
    const alias = element as TypeDefinition;
    // Built-in names (i32, bool, usize...) are aliases in the standard library: resolved below.
    const kind = alias.declaration.range.source.sourceKind;
    if (kind === SourceKind.Library || kind === SourceKind.LibraryEntry) break;
    current = alias.typeNode;
    ctx = alias.parent;
    nullable = nullable || current.isNullable;
  }
  const type = program.resolver.resolveType(current, null, ctx, null, ReportMode.Swallow);
  if (!type) return null;
  const cls = type.classReference;
  if (cls) {
    const name = cls.prototype.name === "String" ? "string" : cls.prototype.name;
    return nullable || type.isNullableReference ? `${name} | null` : name;
  }
  switch (type.kind) {
    case TypeKind.Bool: return "bool";
    case TypeKind.Void: return "void";
    default: return type.toString();
  }
}

/** "'string'", or "'Topic' (string)" when the source names an alias. */
function written(range: Range, resolved: string): string {
  const text = range.source.text.substring(range.start, range.end).replace(/\s+/g, " ");
  return text.replace(/\bString\b/g, "string") === resolved ? `'${text}'` : `'${text}' (${resolved})`;
}

function checkForm(program: Program, name: string, fn: FunctionPrototype, forms: readonly HookForm[],
                   problems: Problem[]): void {
  const sig = fn.functionTypeNode;
  const params = sig.parameters;
  const form = forms.find((f) => f.params.length === params.length);
  const all = formatForms(name, forms);
  if (fn.typeParameterNodes && fn.typeParameterNodes.length > 0) {
    problems.push({ range: fn.declaration.name.range, message: `${name}: a hook cannot be generic — ${all}` });
    return;
  }
  if (!form) {
    const counts = forms.map((f) => String(f.params.length));
    const want = counts.length === 1 ? counts[0] : `${counts.slice(0, -1).join(", ")} or ${counts[counts.length - 1]}`;
    problems.push({
      range: fn.declaration.name.range,
      message: `${name}: has ${params.length} parameter${params.length === 1 ? "" : "s"}; it must have ${want} — ${all}`,
    });
    return;
  }
  const expected = formatForm(name, form);
  params.forEach((p, i) => {
    const label = `${name}: parameter ${i + 1} '${p.name.text}'`;
    if (p.parameterKind !== ParameterKind.Default || p.initializer) {
      // Optional parameters go through a trampoline that reads an argument count the host never
      // sets: the defaults would silently replace what the host passes.
      problems.push({ range: p.range, message: `${label} is optional or a rest parameter; the host passes every argument, declare it plainly — ${expected}` });
      return;
    }
    const have = describeType(program, p.type, fn.parent);
    const want = form.params[i].accept;
    if (have !== null && !want.includes(have)) {
      problems.push({ range: p.type.range, message: `${label} is ${written(p.type.range, have)}; it must be ${quoteAlternatives(want)} — ${expected}` });
    }
  });
  const ret = sig.returnType;
  if (ret.range.start === ret.range.end || (ret.kind === NodeKind.NamedType && (ret as NamedTypeNode).name.identifier.text === "")) {
    problems.push({ range: fn.declaration.name.range, message: `${name}: the result type is not declared; it must be ${quoteAlternatives(form.results)} — ${expected}` });
    return;
  }
  const have = describeType(program, ret, fn.parent);
  if (have !== null && !form.results.includes(have)) {
    problems.push({ range: ret.range, message: `${name}: the result is ${written(ret.range, have)}; it must be ${quoteAlternatives(form.results)} — ${expected}` });
  }
}

/** Every export of a file, star re-exports included (first name wins, as in asc). */
function allExports(file: File): Map<string, DeclaredElement> {
  const out = new Map<string, DeclaredElement>();
  const seen = new Set<File>();
  const visit = (f: File): void => {
    if (seen.has(f)) return;
    seen.add(f);
    f.exports?.forEach((el, n) => { if (!out.has(n)) out.set(n, el); });
    f.exportsStar?.forEach(visit);
  };
  visit(file);
  return out;
}

function checkFile(program: Program, file: File, problems: Problem[]): void {
  const exports = allExports(file);
  for (const [name, forms] of HOOKS) {
    const el = exports.get(name);
    if (!el) continue;
    if (el.kind !== ElementKind.FunctionPrototype) {
      problems.push({ range: el.declaration.range, message: `${name}: must be a function declaration — export function ${formatForms(name, forms)} { ... }` });
      continue;
    }
    checkForm(program, name, el as FunctionPrototype, forms, problems);
  }
  for (const [name, el] of exports) {
    if (HOOKS.has(name) || el.kind !== ElementKind.FunctionPrototype) continue;
    for (const hook of HOOKS.keys()) {
      if (editDistance(name.toLowerCase(), hook) <= MISSPELLING_DISTANCE) {
        problems.push({ range: el.declaration.name.range, message: `export '${name}' is not a hook the host calls; did you mean '${hook}'? — ${formatForms(hook, HOOKS.get(hook) ?? [])}` });
        break;
      }
    }
  }
}

/** Problems in the hooks of every entry file of the program, in source order. */
export function checkProgram(program: Program): Problem[] {
  const problems: Problem[] = [];
  for (const file of program.filesByName.values()) {
    if (file.source.sourceKind === SourceKind.UserEntry) checkFile(program, file, problems);
  }
  return problems.sort((a, b) => a.range.source.normalizedPath.localeCompare(b.range.source.normalizedPath)
    || a.range.start - b.range.start);
}
