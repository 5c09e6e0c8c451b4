// The reference workloads of shared/WORKLOADS.md, as data: the one table that the FLOP formula,
// the TensorFlow.js models and the combined bench all read, so a shape is never written twice.

/**
 * @typedef {object} Workload
 * @property {string} name
 * @property {'rnn'|'gru'|'lstm'} cell
 * @property {number} layers       recurrent layers
 * @property {number} hidden       H per direction
 * @property {boolean} bidirectional
 * @property {number} input        I of layer 0 (one-hot vocabulary, or 1 for a scalar)
 * @property {'onehot'|'scalar'} encoding
 * @property {number} output       head width O (vocabulary, or 1)
 * @property {'ce'|'mse'} loss     softmax cross-entropy or mean squared error
 * @property {number} T            sequence length
 * @property {number} B            global batch
 */

/** @type {Readonly<Record<string, Workload>>} */
export const WORKLOADS = Object.freeze({
  bilstm: { name: 'bilstm', cell: 'lstm', layers: 2, hidden: 128, bidirectional: true, input: 64, encoding: 'onehot', output: 64, loss: 'ce', T: 64, B: 64 },
  charlm: { name: 'charlm', cell: 'lstm', layers: 2, hidden: 256, bidirectional: false, input: 96, encoding: 'onehot', output: 96, loss: 'ce', T: 100, B: 32 },
  'rnn-small': { name: 'rnn-small', cell: 'rnn', layers: 1, hidden: 32, bidirectional: false, input: 1, encoding: 'scalar', output: 1, loss: 'mse', T: 50, B: 256 },
  // Larger global batches, as data-parallel training runs them.
  'bilstm-b256': { name: 'bilstm-b256', cell: 'lstm', layers: 2, hidden: 128, bidirectional: true, input: 64, encoding: 'onehot', output: 64, loss: 'ce', T: 64, B: 256 },
  'charlm-b128': { name: 'charlm-b128', cell: 'lstm', layers: 2, hidden: 256, bidirectional: false, input: 96, encoding: 'onehot', output: 96, loss: 'ce', T: 100, B: 128 },
});

/** @param {string} name @returns {Workload} */
export function workload(name) {
  const w = WORKLOADS[name];
  if (w === undefined) {
    throw new RangeError(`workload must be one of ${Object.keys(WORKLOADS).join(', ')}; got '${name}'`);
  }
  return w;
}
