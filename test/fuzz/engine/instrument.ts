/**
 * Coverage instrumentation for the coverage-guided fuzzer, done with the
 * TypeScript compiler API (already a dependency) on the esbuild bundle of one
 * fuzz target.
 *
 * Why our own: Jazzer.js's libFuzzer addon ships only prebuilt binaries that
 * need glibc 2.38 and GLIBCXX_3.4.32 (this Debian 12 machine has 2.36 and
 * 3.4.30), and its sources are not in the npm package, so it cannot be built
 * offline. What it does is not magic, though: count how often each branch
 * of the code under test runs, and trace comparison operands. This file does
 * the same, libFuzzer-style:
 *
 *   - every basic-block entry we can see in the AST (function bodies, both
 *     arms of every if / ?: / && / || / ??, loop bodies, switch cases, catch
 *     blocks) gets `__cov[i]++` on a Uint32Array shared with the engine;
 *   - every comparison `a OP b` becomes `__cmp.c(a, b) OP __cmp.r`, which
 *     evaluates a and b in the same order, records the pair (so the mutator
 *     can replace the bytes that produced `a` with `b`: how a fuzzer gets past
 *     magic numbers and length checks), and yields exactly `a OP b`;
 *   - every numeric and string literal goes into a dictionary.
 */
import ts from 'typescript';

export interface Instrumented {
  code: string;
  /** Number of coverage counters (size of `__cov`). */
  sites: number;
  /** Literals of the code under test, for the mutator's dictionary. */
  literals: { numbers: number[]; strings: string[] };
}

const COMPARISONS = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
  ts.SyntaxKind.LessThanToken,
  ts.SyntaxKind.LessThanEqualsToken,
  ts.SyntaxKind.GreaterThanToken,
  ts.SyntaxKind.GreaterThanEqualsToken,
]);

const LOGICAL = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.AmpersandAmpersandToken,
  ts.SyntaxKind.BarBarToken,
  ts.SyntaxKind.QuestionQuestionToken,
]);

/** Prepended to the instrumented code: the engine sets `globalThis.__weftFuzz` before importing it. */
export function prelude(sites: number): string {
  return `const __cov = globalThis.__weftFuzz.coverage(${sites}); const __cmp = globalThis.__weftFuzz.cmp;\n`;
}

export function instrument(source: string, fileName = 'bundle.mjs'): Instrumented {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  let sites = 0;
  const numbers = new Set<number>();
  const strings = new Set<string>();
  const f = ts.factory;

  const counter = (): ts.Expression =>
    f.createPostfixIncrement(f.createElementAccessExpression(f.createIdentifier('__cov'), sites++));
  const counterStmt = (): ts.Statement => f.createExpressionStatement(counter());
  const counted = (e: ts.Expression): ts.Expression =>
    f.createParenthesizedExpression(f.createComma(counter(), e));
  const block = (s: ts.Statement): ts.Block =>
    ts.isBlock(s)
      ? f.updateBlock(s, [counterStmt(), ...s.statements])
      : f.createBlock([counterStmt(), s], true);

  const transformer: ts.TransformerFactory<ts.SourceFile> = (ctx) => {
    const visit = (node: ts.Node): ts.Node => {
      if (ts.isNumericLiteral(node)) {
        const v = Number(node.text);
        if (Number.isFinite(v)) numbers.add(v);
      } else if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
        if (node.text.length > 0 && node.text.length <= 64) strings.add(node.text);
      }
      const n = ts.visitEachChild(node, visit, ctx);
      if (ts.isIfStatement(n)) {
        return f.updateIfStatement(
          n,
          n.expression,
          block(n.thenStatement),
          n.elseStatement ? block(n.elseStatement) : f.createBlock([counterStmt()], true),
        );
      }
      if (ts.isForStatement(n))
        return f.updateForStatement(n, n.initializer, n.condition, n.incrementor, block(n.statement));
      if (ts.isForOfStatement(n))
        return f.updateForOfStatement(n, n.awaitModifier, n.initializer, n.expression, block(n.statement));
      if (ts.isForInStatement(n))
        return f.updateForInStatement(n, n.initializer, n.expression, block(n.statement));
      if (ts.isWhileStatement(n)) return f.updateWhileStatement(n, n.expression, block(n.statement));
      if (ts.isDoStatement(n)) return f.updateDoStatement(n, block(n.statement), n.expression);
      if (ts.isCaseClause(n)) return f.updateCaseClause(n, n.expression, [counterStmt(), ...n.statements]);
      if (ts.isDefaultClause(n)) return f.updateDefaultClause(n, [counterStmt(), ...n.statements]);
      if (ts.isCatchClause(n)) return f.updateCatchClause(n, n.variableDeclaration, block(n.block));
      if (ts.isConditionalExpression(n)) {
        return f.updateConditionalExpression(
          n,
          n.condition,
          n.questionToken,
          counted(n.whenTrue),
          n.colonToken,
          counted(n.whenFalse),
        );
      }
      if (ts.isBinaryExpression(n)) {
        const op = n.operatorToken.kind;
        if (LOGICAL.has(op)) return f.updateBinaryExpression(n, n.left, n.operatorToken, counted(n.right));
        if (COMPARISONS.has(op)) {
          const call = f.createCallExpression(
            f.createPropertyAccessExpression(f.createIdentifier('__cmp'), 'c'),
            undefined,
            [n.left, n.right],
          );
          return f.updateBinaryExpression(
            n,
            call,
            n.operatorToken,
            f.createPropertyAccessExpression(f.createIdentifier('__cmp'), 'r'),
          );
        }
      }
      if (ts.isArrowFunction(n) && !ts.isBlock(n.body)) {
        return f.updateArrowFunction(
          n,
          n.modifiers,
          n.typeParameters,
          n.parameters,
          n.type,
          n.equalsGreaterThanToken,
          counted(n.body),
        );
      }
      // A function's own body (the original node knows its parent; the updated one may not).
      if (ts.isBlock(n) && node.parent && ts.isFunctionLike(node.parent)) {
        return f.updateBlock(n, prependAfterDirectives(n));
      }
      return n;
    };
    const prependAfterDirectives = (b: ts.Block): ts.Statement[] => {
      const s = [...b.statements];
      let i = 0;
      while (
        i < s.length &&
        ts.isExpressionStatement(s[i]!) &&
        ts.isStringLiteral((s[i] as ts.ExpressionStatement).expression)
      )
        i++;
      s.splice(i, 0, counterStmt());
      return s;
    };
    return (root) => ts.visitEachChild(root, visit, ctx);
  };

  const out = ts.transform(sf, [transformer]);
  const printed = ts.createPrinter({ removeComments: true }).printFile(out.transformed[0]!);
  out.dispose();
  return {
    code: prelude(sites) + printed,
    sites,
    literals: { numbers: [...numbers], strings: [...strings] },
  };
}
