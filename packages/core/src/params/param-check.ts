/**
 * Loading foreign weights asserts names and shapes instead of guessing: a checkpoint or a
 * safetensors file is checked against the model's Layout, and every problem is named with the
 * file, the parameter and both shapes.
 */
import type { Layout } from './layout.js';

export type ShapeTable = ReadonlyMap<string, readonly number[]> | Readonly<Record<string, readonly number[]>>;

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Every problem, in layout order then file order; empty when the file fits the layout. */
export function paramShapeProblems(file: string, found: ShapeTable, layout: Layout): string[] {
  const table: ReadonlyMap<string, readonly number[]> = found instanceof Map ? found : new Map(Object.entries(found));
  const problems: string[] = [];
  for (const e of layout.entries) {
    const shape = table.get(e.name);
    if (shape === undefined) {
      problems.push(`${file}: parameter '${e.name}' is missing; the model expects it with shape ${formatShape(e.shape)}`);
    } else if (shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
      problems.push(`${file}: parameter '${e.name}' has shape ${formatShape(shape)}, the model expects ${formatShape(e.shape)}`);
    }
  }
  for (const [name, shape] of table) {
    if (!layout.has(name)) problems.push(`${file}: unexpected parameter '${name}' (shape ${formatShape(shape)}); the model has no such parameter`);
  }
  return problems;
}

/** Throws an Error naming the first problem (and how many more) if the file does not fit the layout. */
export function checkParamShapes(file: string, found: ShapeTable, layout: Layout): void {
  const problems = paramShapeProblems(file, found, layout);
  if (problems.length === 0) return;
  const more = problems.length - 1;
  throw new Error(more > 0 ? `${problems[0]} (and ${more} more problem${more > 1 ? 's' : ''})` : problems[0]);
}
