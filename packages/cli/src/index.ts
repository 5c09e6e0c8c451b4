/** @weft/cli as a library: the CLI's entry and its data layer, for programs that script weft. */
export { main } from './main.js';
export * from './data/index.js';
export * from './report/index.js';
