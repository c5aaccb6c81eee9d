import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

/**
 * The public surface documents itself: every function, class, interface, type and constant a
 * module under src/ exports carries a JSDoc block (`/** … *\/`) saying its inputs and outputs with units, its errors and
 * codes, and the Binance document it follows (style.md). Parsed with the TypeScript compiler, no
 * type checking: the whole tree takes about a second.
 */

const SRC = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `name:line kind name` of every exported declaration in `text` without a JSDoc block right above it. */
function undocumented(name: string, text: string): string[] {
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    let what: string | undefined;
    if (ts.isFunctionDeclaration(statement)) what = `function ${statement.name?.text ?? 'default'}`;
    else if (ts.isClassDeclaration(statement)) what = `class ${statement.name?.text ?? 'default'}`;
    else if (ts.isInterfaceDeclaration(statement)) what = `interface ${statement.name.text}`;
    else if (ts.isTypeAliasDeclaration(statement)) what = `type ${statement.name.text}`;
    else if (ts.isEnumDeclaration(statement)) what = `enum ${statement.name.text}`;
    else if (ts.isVariableStatement(statement)) what = `const ${statement.declarationList.declarations.map((d) => d.name.getText(source)).join(', ')}`;
    if (what === undefined) continue;
    const comments = ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? [];
    const last = comments.at(-1);
    if (last === undefined || !text.startsWith('/**', last.pos)) {
      out.push(`${name}:${source.getLineAndCharacterOfPosition(statement.getStart(source)).line + 1} ${what}`);
    }
  }
  return out;
}

test('every exported declaration in src/ has a JSDoc block', () => {
  const files = sourceFiles(SRC);
  assert.ok(files.length > 100, `found only ${files.length} files under ${SRC}`);
  assert.deepEqual(
    files.flatMap((f) => undocumented(f.slice(SRC.length + 1), readFileSync(f, 'utf8'))),
    [],
  );
});

test('the check reports exported declarations without a JSDoc block, and nothing else', () => {
  const text = [
    '/** Documented. */',
    'export function a(): void {}',
    '// A line comment is not a docstring.',
    'export function b(): void {}',
    'export const c = () => 1;',
    '/** Documented. */',
    'export class D {}',
    'export class E {}',
    'function internal(): void {}',
    'export const VALUE = 1;',
    '/** Documented. */',
    'export const f = function () {};',
    'export interface I {}',
    'export type T = string;',
    '/** Documented. */',
    'export type U = number;',
    "export { a as alias } from './y.js';",
  ].join('\n');
  assert.deepEqual(undocumented('x.ts', text), [
    'x.ts:4 function b',
    'x.ts:5 const c',
    'x.ts:8 class E',
    'x.ts:10 const VALUE',
    'x.ts:13 interface I',
    'x.ts:14 type T',
  ]);
});
