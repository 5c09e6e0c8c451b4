// Row-wise loops over [rows, n] float32 matrices that surround the matrix products: biases
// broadcast into the rows of a product's output, bias gradients as column sums, and the
// gather / scatter-add of table rows by index that replace a product with a one-hot matrix.
// References and contracts: packages/core/src/kernels/rows.ts. Addresses in bytes, sizes in
// floats; `ids` are int32.

/** x[r, :] = b (+ b2 when hasB2) for r < rows. */
export function fillRows(x: usize, rows: i32, n: i32, b: usize, b2: usize, hasB2: i32): void {
  const nB = <usize>n << 2;
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    if (hasB2) {
      for (; j < n4; j += 4) {
        const o = <usize>j << 2;
        v128.store(x + o, f32x4.add(v128.load(b + o), v128.load(b2 + o)));
      }
      for (; j < n; j++) {
        const o = <usize>j << 2;
        store<f32>(x + o, load<f32>(b + o) + load<f32>(b2 + o));
      }
    } else {
      memory.copy(x, b, nB);
    }
    x += nB;
  }
}

/**
 * db[:] += Σ_r dz[r, :] for rows of n floats ld apart, summed row after row in float32 (the
 * reference's order, so the result is the same bits). Columns are taken 32 at a time so the
 * partial sums stay in registers: each row is read once, however far apart the rows lie (the
 * trainer sums its shard slots this way, a whole slot apart).
 */
export function sumRows(db: usize, dz: usize, rows: i32, n: i32, ld: i32): void {
  const nB = <usize>ld << 2;
  let j = 0;
  for (; j + 32 <= n; j += 32) {
    const o = <usize>j << 2;
    let s0 = v128.load(db + o), s1 = v128.load(db + o, 16), s2 = v128.load(db + o, 32), s3 = v128.load(db + o, 48);
    let s4 = v128.load(db + o, 64), s5 = v128.load(db + o, 80), s6 = v128.load(db + o, 96), s7 = v128.load(db + o, 112);
    let p = dz + o;
    for (let r = 0; r < rows; r++) {
      s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32)); s3 = f32x4.add(s3, v128.load(p, 48));
      s4 = f32x4.add(s4, v128.load(p, 64)); s5 = f32x4.add(s5, v128.load(p, 80));
      s6 = f32x4.add(s6, v128.load(p, 96)); s7 = f32x4.add(s7, v128.load(p, 112));
      p += nB;
    }
    v128.store(db + o, s0); v128.store(db + o, s1, 16); v128.store(db + o, s2, 32); v128.store(db + o, s3, 48);
    v128.store(db + o, s4, 64); v128.store(db + o, s5, 80); v128.store(db + o, s6, 96); v128.store(db + o, s7, 112);
  }
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    let s = v128.load(db + o);
    let p = dz + o;
    for (let r = 0; r < rows; r++) {
      s = f32x4.add(s, v128.load(p));
      p += nB;
    }
    v128.store(db + o, s);
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    let s = load<f32>(db + o);
    let p = dz + o;
    for (let r = 0; r < rows; r++) {
      s += load<f32>(p);
      p += nB;
    }
    store<f32>(db + o, s);
  }
}

/** x[r, :] = table[ids[r], :] for r < rows (rows of n floats). */
export function gatherRows(x: usize, rows: i32, n: i32, table: usize, ids: usize): void {
  const nB = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(x, table + <usize>load<i32>(ids) * nB, nB);
    x += nB;
    ids += 4;
  }
}

/** table[ids[r], :] += src[r, :] for r < rows, in row order. */
export function scatterAddRows(table: usize, n: i32, ids: usize, rows: i32, src: usize): void {
  const nB = <usize>n << 2;
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    const t = table + <usize>load<i32>(ids) * nB;
    let j = 0;
    for (; j < n4; j += 4) {
      const o = <usize>j << 2;
      v128.store(t + o, f32x4.add(v128.load(t + o), v128.load(src + o)));
    }
    for (; j < n; j++) {
      const o = <usize>j << 2;
      store<f32>(t + o, load<f32>(t + o) + load<f32>(src + o));
    }
    src += nB;
    ids += 4;
  }
}

/** dst[i] = 0 for i < n: memory.fill, which the engine runs as memset (a float at a time from JS on shared memory). */
export function zero(dst: usize, n: i32): void {
  memory.fill(dst, 0, <usize>n << 2);
}

/** dst[i] += src[i] for i < n (float32 adds: the same bits as any other float32 add). */
export function accumulate(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    v128.store(dst + o, f32x4.add(v128.load(dst + o, 16), v128.load(src + o, 16)), 16);
    v128.store(dst + o, f32x4.add(v128.load(dst + o, 32), v128.load(src + o, 32)), 32);
    v128.store(dst + o, f32x4.add(v128.load(dst + o, 48), v128.load(src + o, 48)), 48);
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

@inline function lo(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 0, 4, 1, 5); }
@inline function hi(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 2, 6, 3, 7); }

/** dst[c, r] = src[r, c]: src [rows, cols] → dst [cols, rows] with rows ldd floats apart, 4×4 blocks through registers. */
export function transpose(dst: usize, ldd: i32, src: usize, rows: i32, cols: i32): void {
  const sB = <usize>cols << 2;
  const dB = <usize>ldd << 2;
  const r4 = rows & ~3;
  const c4 = cols & ~3;
  for (let r = 0; r < r4; r += 4) {
    const s0 = src + <usize>r * sB, s1 = s0 + sB, s2 = s1 + sB, s3 = s2 + sB;
    for (let c = 0; c < c4; c += 4) {
      const o = <usize>c << 2;
      const v0 = v128.load(s0 + o), v1 = v128.load(s1 + o), v2 = v128.load(s2 + o), v3 = v128.load(s3 + o);
      const d0 = dst + <usize>c * dB + (<usize>r << 2);
      const a = lo(v0, v1), b = lo(v2, v3), e = hi(v0, v1), f = hi(v2, v3);
      v128.store(d0, f32x4.shuffle(a, b, 0, 1, 4, 5));
      v128.store(d0 + dB, f32x4.shuffle(a, b, 2, 3, 6, 7));
      v128.store(d0 + 2 * dB, f32x4.shuffle(e, f, 0, 1, 4, 5));
      v128.store(d0 + 3 * dB, f32x4.shuffle(e, f, 2, 3, 6, 7));
    }
    for (let c = c4; c < cols; c++) {
      const o = <usize>c << 2;
      const d0 = dst + <usize>c * dB + (<usize>r << 2);
      store<f32>(d0, load<f32>(s0 + o));
      store<f32>(d0, load<f32>(s1 + o), 4);
      store<f32>(d0, load<f32>(s2 + o), 8);
      store<f32>(d0, load<f32>(s3 + o), 12);
    }
  }
  for (let r = r4; r < rows; r++) {
    const s = src + <usize>r * sB;
    for (let c = 0; c < cols; c++) store<f32>(dst + <usize>c * dB + (<usize>r << 2), load<f32>(s + (<usize>c << 2)));
  }
}
