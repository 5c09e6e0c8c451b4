// Training FLOPs of one step, the formula of shared/WORKLOADS.md in one place:
// per token, for each recurrent layer and direction 6*G*H*(I+H), plus 6*I*O for the head.
// (2 FLOPs per multiply-add; backward's input and weight gradients are twice the forward, so
// training is 3x forward = 6 per weight per token.) Biases and elementwise gate work are left
// out, as in the anchors the table was measured with.
import { workload } from './workloads.mjs';

/** Gates per cell: G in 6*G*H*(I+H). */
export const GATES = Object.freeze({ rnn: 1, gru: 3, lstm: 4 });

/** @param {import('./workloads.mjs').Workload} w @returns {number} training FLOPs per token */
export function flopsPerToken(w) {
  const G = GATES[w.cell];
  const dirs = w.bidirectional ? 2 : 1;
  const H = w.hidden;
  let total = 0;
  for (let layer = 0; layer < w.layers; layer++) {
    // Layer 0 reads the input; deeper layers read the concatenated directions below them.
    const I = layer === 0 ? w.input : dirs * H;
    total += dirs * 6 * G * H * (I + H);
  }
  total += 6 * dirs * H * w.output; // head: dirs*H -> O at every step
  return total;
}

/** @param {string | import('./workloads.mjs').Workload} w @returns {number} training FLOPs per step (B*T tokens) */
export function flopsPerStep(w) {
  const spec = typeof w === 'string' ? workload(w) : w;
  return flopsPerToken(spec) * spec.B * spec.T;
}

/** GFLOP/s of a workload trained at `tokensPerSecond`. */
export function gflops(w, tokensPerSecond) {
  const spec = typeof w === 'string' ? workload(w) : w;
  return (flopsPerToken(spec) * tokensPerSecond) / 1e9;
}
