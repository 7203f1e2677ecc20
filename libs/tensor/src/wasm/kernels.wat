;; The platform's own CPU kernels for single-token decode, WebAssembly SIMD (128-bit) over one
;; shared memory: matrix-vector products over weights repacked four rows at a time (./pack.ts), and
;; the two halves of one query's attention over paged K/V rows. Every pointer is a byte offset into
;; the imported memory. Assembled into kernels-wasm.ts by scripts/assemble-wasm.mjs; the tests check
;; that the committed binary is this text's.
(module
  (import "env" "mem" (memory 1 65536 shared))

  ;; F32: y[4g + r] = sum_i W[4g + r, i] x[i] for groups g in [g0, g1). Group g starts at
  ;; w + g * 16 * cols; each 4-column chunk holds rows 0..3 (16 bytes each). cols % 8 == 0.
  (func (export "gemv_f32") (param $w i32) (param $x i32) (param $y i32) (param $g0 i32) (param $g1 i32) (param $cols i32)
    (local $g i32) (local $i i32) (local $p i32) (local $xe i32) (local $t0 v128) (local $t1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $xv v128)
    (local.set $xe (i32.add (local.get $x) (i32.shl (local.get $cols) (i32.const 2))))
    (local.set $p (i32.add (local.get $w) (i32.mul (local.get $g0) (i32.shl (local.get $cols) (i32.const 4)))))
    (local.set $g (local.get $g0))
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $g) (local.get $g1)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $i (local.get $x))
      (block $id (loop $il
        (br_if $id (i32.ge_u (local.get $i) (local.get $xe)))
        (local.set $xv (v128.load offset=0 (local.get $i)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $p)) (local.get $xv))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $xv))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $xv))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $xv))))
        (local.set $xv (v128.load offset=16 (local.get $i)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=64 (local.get $p)) (local.get $xv))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=80 (local.get $p)) (local.get $xv))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=96 (local.get $p)) (local.get $xv))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=112 (local.get $p)) (local.get $xv))))
        (local.set $p (i32.add (local.get $p) (i32.const 128)))
        (local.set $i (i32.add (local.get $i) (i32.const 32)))
        (br $il)))
      (local.set $t0 (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
        (local.set $t1 (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
        (local.set $xv (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $g) (i32.const 4))) (local.get $xv))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $gl)))
  )

  ;; Written after each row of a block in gemv_q8 / gemv_q4 and never read. A write orders the
  ;; engine's code: a row's loads are used before the next row's are issued, where otherwise all
  ;; sixteen loads of a block come first, more registers than there are, and the block's values
  ;; (its accumulator too) go through the stack. Measured in cache, one thread: gemv_q8 7.5 -> 6.2
  ;; ns and gemv_q4 8.3 -> 7.0 ns per block of four rows. A global, so each thread's instance has
  ;; its own and no memory is shared.
  (global $order (mut v128) (v128.const i32x4 0 0 0 0))

  ;; Q8_0 x Q8: per group g and block b (32 columns), 128 bytes of int8 (rows 0..3, 32 each) at
  ;; w + (g * nb + b) * 128 and 4 f32 row scales at s + (g * nb + b) * 16; the activation block
  ;; b is 32 int16 at xq + 64 b with its scale at xs + 4 b. y[4g + r] = sum_b d_r,b * dx_b * dot.
  (func (export "gemv_q8") (param $w i32) (param $s i32) (param $xq i32) (param $xs i32) (param $y i32) (param $g0 i32) (param $g1 i32) (param $cols i32)
    (local $g i32) (local $b i32) (local $nb i32) (local $p i32) (local $sp i32) (local $xp i32) (local $xsp i32)
    (local $acc v128) (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $t0 v128) (local $t1 v128) (local $sum v128)
    (local.set $nb (i32.shr_u (local.get $cols) (i32.const 5)))
    (local.set $p (i32.add (local.get $w) (i32.shl (i32.mul (local.get $g0) (local.get $nb)) (i32.const 7))))
    (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $g0) (local.get $nb)) (i32.const 4))))
    (local.set $g (local.get $g0))
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $g) (local.get $g1)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $xp (local.get $xq)) (local.set $xsp (local.get $xs))
      (local.set $b (i32.const 0))
      (block $bd (loop $bl
        (br_if $bd (i32.ge_u (local.get $b) (local.get $nb)))
        (local.set $x0 (v128.load (local.get $xp))) (local.set $x1 (v128.load offset=16 (local.get $xp)))
        (local.set $x2 (v128.load offset=32 (local.get $xp))) (local.set $x3 (v128.load offset=48 (local.get $xp)))
        (local.set $d0 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=0 (local.get $p)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=8 (local.get $p)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=16 (local.get $p)) (local.get $x2))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=24 (local.get $p)) (local.get $x3))))) (global.set $order (local.get $d0))
        (local.set $d1 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=32 (local.get $p)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=40 (local.get $p)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=48 (local.get $p)) (local.get $x2))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=56 (local.get $p)) (local.get $x3))))) (global.set $order (local.get $d1))
        (local.set $d2 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=64 (local.get $p)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=72 (local.get $p)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=80 (local.get $p)) (local.get $x2))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=88 (local.get $p)) (local.get $x3))))) (global.set $order (local.get $d2))
        (local.set $d3 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=96 (local.get $p)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=104 (local.get $p)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.load8x8_s offset=112 (local.get $p)) (local.get $x2))
                     (i32x4.dot_i16x8_s (v128.load8x8_s offset=120 (local.get $p)) (local.get $x3))))) (global.set $order (local.get $d3))
        (local.set $t0 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $d0) (local.get $d1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $d0) (local.get $d1))))
        (local.set $t1 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $d2) (local.get $d3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $d2) (local.get $d3))))
        (local.set $sum (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s (local.get $sum))
          (f32x4.mul (v128.load (local.get $sp)) (v128.load32_splat (local.get $xsp))))))
        (local.set $p (i32.add (local.get $p) (i32.const 128)))
        (local.set $sp (i32.add (local.get $sp) (i32.const 16)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (local.set $xsp (i32.add (local.get $xsp) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bl)))
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $g) (i32.const 4))) (local.get $acc))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $gl)))
  )

  ;; Q4_0 x Q8: per group g and block b, 64 bytes of nibbles (rows 0..3, 16 each) at
  ;; w + (g * nb + b) * 64, scales as gemv_q8. A row's 16 bytes are eight 16-bit lanes; lane k holds
  ;; columns k, 8 + k, 16 + k, 24 + k in its nibbles 0..3 (repacked from ggml's order, ./pack), so
  ;; the activation block is gemv_q8's (32 int16 in column order). xsum + 4 b holds the block's sum
  ;; of int8 activations, so the stored nibbles (q + 8) need no per-weight subtraction: dot - 8 xsum.
  (func (export "gemv_q4") (param $w i32) (param $s i32) (param $xq i32) (param $xsum i32) (param $xs i32) (param $y i32) (param $g0 i32) (param $g1 i32) (param $cols i32)
    (local $g i32) (local $b i32) (local $nb i32) (local $p i32) (local $sp i32) (local $xp i32) (local $xsp i32) (local $xup i32)
    (local $acc v128) (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $v v128) (local $m v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $t0 v128) (local $t1 v128) (local $sum v128)
    (local.set $m (v128.const i16x8 15 15 15 15 15 15 15 15))
    (local.set $nb (i32.shr_u (local.get $cols) (i32.const 5)))
    (local.set $p (i32.add (local.get $w) (i32.shl (i32.mul (local.get $g0) (local.get $nb)) (i32.const 6))))
    (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $g0) (local.get $nb)) (i32.const 4))))
    (local.set $g (local.get $g0))
    (block $gd (loop $gl
      (br_if $gd (i32.ge_u (local.get $g) (local.get $g1)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $xp (local.get $xq)) (local.set $xsp (local.get $xs)) (local.set $xup (local.get $xsum))
      (local.set $b (i32.const 0))
      (block $bd (loop $bl
        (br_if $bd (i32.ge_u (local.get $b) (local.get $nb)))
        (local.set $x0 (v128.load (local.get $xp))) (local.set $x1 (v128.load offset=16 (local.get $xp)))
        (local.set $x2 (v128.load offset=32 (local.get $xp))) (local.set $x3 (v128.load offset=48 (local.get $xp)))
        (local.set $v (v128.load offset=0 (local.get $p)))
        (local.set $d0 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                     (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))) (global.set $order (local.get $d0))
        (local.set $v (v128.load offset=16 (local.get $p)))
        (local.set $d1 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                     (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))) (global.set $order (local.get $d1))
        (local.set $v (v128.load offset=32 (local.get $p)))
        (local.set $d2 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                     (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))) (global.set $order (local.get $d2))
        (local.set $v (v128.load offset=48 (local.get $p)))
        (local.set $d3 (i32x4.add
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (local.get $v) (local.get $m)) (local.get $x0))
                     (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)) (local.get $x1)))
          (i32x4.add (i32x4.dot_i16x8_s (v128.and (i16x8.shr_u (local.get $v) (i32.const 8)) (local.get $m)) (local.get $x2))
                     (i32x4.dot_i16x8_s (i16x8.shr_u (local.get $v) (i32.const 12)) (local.get $x3))))) (global.set $order (local.get $d3))
        (local.set $t0 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $d0) (local.get $d1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $d0) (local.get $d1))))
        (local.set $t1 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $d2) (local.get $d3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $d2) (local.get $d3))))
        (local.set $sum (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))
        (local.set $sum (i32x4.sub (local.get $sum) (i32x4.shl (v128.load32_splat (local.get $xup)) (i32.const 3))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s (local.get $sum))
          (f32x4.mul (v128.load (local.get $sp)) (v128.load32_splat (local.get $xsp))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $sp (i32.add (local.get $sp) (i32.const 16)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 64)))
        (local.set $xsp (i32.add (local.get $xsp) (i32.const 4)))
        (local.set $xup (i32.add (local.get $xup) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bl)))
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $g) (i32.const 4))) (local.get $acc))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $gl)))
  )

  ;; Attention scores: out[j] = sum_d q[d] * row_j[d], row_j at base + rows[j] (int32 byte
  ;; offsets), j in [0, n); hs floats per row, hs % 16 == 0. Four rows at a time (each q chunk
  ;; loaded once for the four; one register per row, reduced together at the end), then one by one.
  (func (export "dot_rows") (param $q i32) (param $base i32) (param $rows i32) (param $n i32) (param $hs i32) (param $out i32)
    (local $j i32) (local $r i32) (local $d i32) (local $e i32) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $qp i32) (local $qe i32) (local $qv v128) (local $t0 v128) (local $t1 v128) (local $rp i32)
    (local.set $e (i32.shl (local.get $hs) (i32.const 2)))
    (local.set $qe (i32.add (local.get $q) (local.get $e)))
    (block $jd4 (loop $jl4
      (br_if $jd4 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
      (local.set $rp (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2))))
      (local.set $r0 (i32.add (local.get $base) (i32.load offset=0 (local.get $rp))))
      (local.set $r1 (i32.add (local.get $base) (i32.load offset=4 (local.get $rp))))
      (local.set $r2 (i32.add (local.get $base) (i32.load offset=8 (local.get $rp))))
      (local.set $r3 (i32.add (local.get $base) (i32.load offset=12 (local.get $rp))))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $qp (local.get $q))
      (block $dd4 (loop $dl4
        (br_if $dd4 (i32.ge_u (local.get $qp) (local.get $qe)))
        (local.set $qv (v128.load offset=0 (local.get $qp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $r0)) (local.get $qv))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=0 (local.get $r1)) (local.get $qv))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=0 (local.get $r2)) (local.get $qv))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=0 (local.get $r3)) (local.get $qv))))
        (local.set $qv (v128.load offset=16 (local.get $qp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=16 (local.get $r0)) (local.get $qv))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $r1)) (local.get $qv))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=16 (local.get $r2)) (local.get $qv))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=16 (local.get $r3)) (local.get $qv))))
        (local.set $qv (v128.load offset=32 (local.get $qp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=32 (local.get $r0)) (local.get $qv))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=32 (local.get $r1)) (local.get $qv))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $r2)) (local.get $qv))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=32 (local.get $r3)) (local.get $qv))))
        (local.set $qv (v128.load offset=48 (local.get $qp)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=48 (local.get $r0)) (local.get $qv))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=48 (local.get $r1)) (local.get $qv))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=48 (local.get $r2)) (local.get $qv))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $r3)) (local.get $qv))))
        (local.set $qp (i32.add (local.get $qp) (i32.const 64)))
        (local.set $r0 (i32.add (local.get $r0) (i32.const 64))) (local.set $r1 (i32.add (local.get $r1) (i32.const 64)))
        (local.set $r2 (i32.add (local.get $r2) (i32.const 64))) (local.set $r3 (i32.add (local.get $r3) (i32.const 64)))
        (br $dl4)))
      ;; lanes of a_r summed: out[j + r] = the four lane sums of a_r, as one store
      (local.set $t0 (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1))))
      (local.set $t1 (f32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3))))
      (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
        (f32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $jl4)))
    (block $jd (loop $jl
      (br_if $jd (i32.ge_u (local.get $j) (local.get $n)))
      (local.set $r (i32.add (local.get $base) (i32.load (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2))))))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $d (i32.const 0))
      (block $dd (loop $dl
        (br_if $dd (i32.ge_u (local.get $d) (local.get $e)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load (i32.add (local.get $r) (local.get $d))) (v128.load (i32.add (local.get $q) (local.get $d))))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (i32.add (local.get $r) (local.get $d))) (v128.load offset=16 (i32.add (local.get $q) (local.get $d))))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (i32.add (local.get $r) (local.get $d))) (v128.load offset=32 (i32.add (local.get $q) (local.get $d))))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (i32.add (local.get $r) (local.get $d))) (v128.load offset=48 (i32.add (local.get $q) (local.get $d))))))
        (local.set $d (i32.add (local.get $d) (i32.const 64)))
        (br $dl)))
      (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
        (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
                 (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $jl)))
  )

  ;; One part of a split softmax (flash-decoding): s[j] = e^(s[j] * scale - m) for j in [0, n), with
  ;; m = max_j s[j] * scale written at stats and the sum of the s[j] at stats + 4; n = 0 writes
  ;; m = -inf and sum 0. Parts over disjoint positions combine exactly: weights e^(m_part - M).
  (func (export "exp_scores") (param $s i32) (param $n i32) (param $scale f32) (param $stats i32)
    (local $i i32) (local $e i32) (local $m f32) (local $sum f32)
    (local.set $e (i32.add (local.get $s) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $m (f32.const -inf))
    (local.set $i (local.get $s))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $e)))
      (local.set $m (f32.max (local.get $m) (f32.mul (f32.load (local.get $i)) (local.get $scale))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (f32.store (local.get $stats) (local.get $m))
    (global.set $last_sum (f32.const 0))
    (if (i32.gt_u (local.get $n) (i32.const 0)) (then
      (call $softmax_tail (local.get $s) (local.get $n) (local.get $scale) (local.get $m))))
    (f32.store offset=4 (local.get $stats) (global.get $last_sum))
  )

  ;; Attention output: out[d] = sum_j p[j] * row_j[d] (rows as dot_rows), hs % 16 == 0; out is
  ;; overwritten. Sixteen columns at a time, held in four registers across all rows.
  (func (export "axpy_rows") (param $p i32) (param $base i32) (param $rows i32) (param $n i32) (param $hs i32) (param $out i32)
    (local $j i32) (local $r i32) (local $c i32) (local $e i32) (local $pv v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $e (i32.shl (local.get $hs) (i32.const 2)))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_u (local.get $c) (local.get $e)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $jd (loop $jl
        (br_if $jd (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $r (i32.add (i32.add (local.get $base) (local.get $c)) (i32.load (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2))))))
        (local.set $pv (v128.load32_splat (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $pv) (v128.load (local.get $r)))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $pv) (v128.load offset=16 (local.get $r)))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $pv) (v128.load offset=32 (local.get $r)))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $pv) (v128.load offset=48 (local.get $r)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jl)))
      (local.set $r (i32.add (local.get $out) (local.get $c)))
      (v128.store (local.get $r) (local.get $a0)) (v128.store offset=16 (local.get $r) (local.get $a1))
      (v128.store offset=32 (local.get $r) (local.get $a2)) (v128.store offset=48 (local.get $r) (local.get $a3))
      (local.set $c (i32.add (local.get $c) (i32.const 64)))
      (br $cl)))
  )

  ;; Activation blocks for gemv_q8/gemv_q4 (llama.cpp's Q8 activations): for each block b of 32
  ;; floats at src: d = max|x| / 127, q = nearest(x / d) (ties to even, as llama.cpp's SIMD paths
  ;; round), stored as 32 int16 at xq + 64 b; d at xs + 4 b; the sum of the q at xsum + 4 b.
  (func (export "quant_q8") (param $src i32) (param $n i32) (param $xq i32) (param $xs i32) (param $xsum i32)
    (local $b i32) (local $nb i32) (local $p i32) (local $amax v128) (local $m f32) (local $d f32) (local $id v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $v4 v128) (local $v5 v128) (local $v6 v128) (local $v7 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128) (local $q5 v128) (local $q6 v128) (local $q7 v128) (local $s v128) (local $mg v128)
    (local.set $nb (i32.shr_u (local.get $n) (i32.const 5)))
    (block $bd (loop $bl
      (br_if $bd (i32.ge_u (local.get $b) (local.get $nb)))
      (local.set $p (i32.add (local.get $src) (i32.shl (local.get $b) (i32.const 7))))
      (local.set $v0 (v128.load (local.get $p))) (local.set $v1 (v128.load offset=16 (local.get $p)))
      (local.set $v2 (v128.load offset=32 (local.get $p))) (local.set $v3 (v128.load offset=48 (local.get $p)))
      (local.set $v4 (v128.load offset=64 (local.get $p))) (local.set $v5 (v128.load offset=80 (local.get $p)))
      (local.set $v6 (v128.load offset=96 (local.get $p))) (local.set $v7 (v128.load offset=112 (local.get $p)))
      (local.set $amax (f32x4.pmax
        (f32x4.pmax (f32x4.pmax (f32x4.abs (local.get $v0)) (f32x4.abs (local.get $v1))) (f32x4.pmax (f32x4.abs (local.get $v2)) (f32x4.abs (local.get $v3))))
        (f32x4.pmax (f32x4.pmax (f32x4.abs (local.get $v4)) (f32x4.abs (local.get $v5))) (f32x4.pmax (f32x4.abs (local.get $v6)) (f32x4.abs (local.get $v7))))))
      (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $amax)) (f32x4.extract_lane 1 (local.get $amax)))
                             (f32.max (f32x4.extract_lane 2 (local.get $amax)) (f32x4.extract_lane 3 (local.get $amax)))))
      (local.set $d (f32.div (local.get $m) (f32.const 127)))
      (f32.store (i32.add (local.get $xs) (i32.shl (local.get $b) (i32.const 2))) (local.get $d))
      (local.set $id (f32x4.splat (select (f32.div (f32.const 1) (local.get $d)) (f32.const 0) (f32.ne (local.get $d) (f32.const 0)))))
      ;; q = nearest(x / d) as an integer: x / d is in [-127, 127], so adding 1.5 * 2^23 rounds it
      ;; (ties to even, the float add's own rounding) into the low mantissa bits, and subtracting
      ;; the constant's bits leaves the signed integer
      (local.set $mg (v128.const f32x4 12582912 12582912 12582912 12582912))
      (local.set $q0 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v0) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q1 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v1) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q2 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v2) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q3 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v3) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q4 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v4) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q5 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v5) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q6 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v6) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $q7 (i32x4.sub (f32x4.add (f32x4.mul (local.get $v7) (local.get $id)) (local.get $mg)) (local.get $mg)))
      (local.set $p (i32.add (local.get $xq) (i32.shl (local.get $b) (i32.const 6))))
      (v128.store (local.get $p) (i16x8.narrow_i32x4_s (local.get $q0) (local.get $q1)))
      (v128.store offset=16 (local.get $p) (i16x8.narrow_i32x4_s (local.get $q2) (local.get $q3)))
      (v128.store offset=32 (local.get $p) (i16x8.narrow_i32x4_s (local.get $q4) (local.get $q5)))
      (v128.store offset=48 (local.get $p) (i16x8.narrow_i32x4_s (local.get $q6) (local.get $q7)))
      (local.set $s (i32x4.add (i32x4.add (i32x4.add (local.get $q0) (local.get $q1)) (i32x4.add (local.get $q2) (local.get $q3)))
                               (i32x4.add (i32x4.add (local.get $q4) (local.get $q5)) (i32x4.add (local.get $q6) (local.get $q7)))))
      (i32.store (i32.add (local.get $xsum) (i32.shl (local.get $b) (i32.const 2)))
        (i32.add (i32.add (i32x4.extract_lane 0 (local.get $s)) (i32x4.extract_lane 1 (local.get $s)))
                 (i32.add (i32x4.extract_lane 2 (local.get $s)) (i32x4.extract_lane 3 (local.get $s)))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl)))
  )

  ;; e^x on four lanes: x clamped to [-87.3, 88.7], x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two
  ;; parts), e^r by Cephes' expf polynomial, 2^n built in the exponent bits (about 1 ulp). The
  ;; clamp is pmin/pmax (one instruction each; min/max order NaNs at a cost), and n, a whole
  ;; number in [-126, 128], becomes an integer by the 1.5 * 2^23 trick: adding it leaves n + 127
  ;; in the low mantissa bits.
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128)
    (local.set $x (f32x4.pmin (f32x4.pmax (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3)) (v128.const f32x4 88.7 88.7 88.7 88.7)))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
    (local.set $r (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
                             (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (f32x4.mul (local.get $r) (local.get $r))) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    (f32x4.mul (local.get $p) (i32x4.shl (i32x4.sub (f32x4.add (local.get $n) (v128.const f32x4 12583039 12583039 12583039 12583039))
                                                     (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000)) (i32.const 23)))
  )

  ;; Gated MLP activation: dst[i] = silu(h[i]) * h[up + i] (up in floats), i in [0, n), n % 4 == 0;
  ;; dst may be h (in place).
  (func (export "silu_mul") (param $h i32) (param $up i32) (param $n i32) (param $dst i32)
    (local $i i32) (local $e i32) (local $g v128) (local $p i32)
    (local.set $e (i32.add (local.get $h) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $i (local.get $h))
    (local.set $up (i32.shl (local.get $up) (i32.const 2)))
    (local.set $dst (i32.sub (local.get $dst) (local.get $h)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $e)))
      (local.set $g (v128.load (local.get $i)))
      (v128.store (i32.add (local.get $i) (local.get $dst))
        (f32x4.mul (f32x4.div (local.get $g) (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp4 (f32x4.neg (local.get $g)))))
                   (v128.load (i32.add (local.get $i) (local.get $up)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
  )

  (global $last_sum (mut f32) (f32.const 0))
  ;; s[j] = e^(s[j] * scale - m), j in [0, n); their sum into $last_sum.
  (func $softmax_tail (param $s i32) (param $n i32) (param $scale f32) (param $m f32)
    (local $i i32) (local $e i32) (local $e4 i32) (local $v v128) (local $sv v128) (local $mv v128) (local $acc v128) (local $sum f32)
    (local.set $e (i32.add (local.get $s) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $e4 (i32.add (local.get $s) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $sv (f32x4.splat (local.get $scale)))
    (local.set $mv (f32x4.splat (local.get $m)))
    (local.set $i (local.get $s))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $e4)))
      (local.set $v (call $exp4 (f32x4.sub (f32x4.mul (v128.load (local.get $i)) (local.get $sv)) (local.get $mv))))
      (v128.store (local.get $i) (local.get $v))
      (local.set $acc (f32x4.add (local.get $acc) (local.get $v)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
    (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                             (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $e)))
      (f32.store (local.get $i) (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (f32.sub (f32.mul (f32.load (local.get $i)) (local.get $scale)) (local.get $m))))))
      (local.set $sum (f32.add (local.get $sum) (f32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $l)))
    (global.set $last_sum (local.get $sum))
  )

  ;; The residual add and RMSNorm between blocks: x += add (when add != 0), then
  ;; dst = x / sqrt(mean(x^2) + eps) * w; n % 4 == 0; sums in f32 over four lanes.
  (func (export "add_rmsnorm") (param $x i32) (param $add i32) (param $w i32) (param $dst i32) (param $n i32) (param $eps f32)
    (local $i i32) (local $e i32) (local $v v128) (local $acc v128) (local $r v128)
    (local.set $e (i32.shl (local.get $n) (i32.const 2)))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $e)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (if (local.get $add) (then
        (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $add) (local.get $i)))))
        (v128.store (i32.add (local.get $x) (local.get $i)) (local.get $v))))
      (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
    (local.set $r (f32x4.splat (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div
      (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
               (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc))))
      (f32.convert_i32_u (local.get $n))) (local.get $eps))))))
    (local.set $i (i32.const 0))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $e)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (f32x4.mul (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $i))) (local.get $r)) (v128.load (i32.add (local.get $w) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
  )
)
