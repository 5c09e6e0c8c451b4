/**
 * @weft/cli as a library: the CLI's entry and its reports, for programs that script weft (the
 * data layer is in @weft/core).
 *
 * @packageDocumentation
 * @module @weft/cli
 */
export { main } from './main.js';
export * from './report/index.js';
