/**
 * @weft/cli as a library: the CLI's entry and its data layer, for programs that script weft.
 *
 * @packageDocumentation
 * @module @weft/cli
 */
export { main } from './main.js';
export * from './data/index.js';
export * from './report/index.js';
