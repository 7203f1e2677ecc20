;; Kernels that need WebAssembly's relaxed SIMD (the int8 dot product i16x8.relaxed_dot_i8x16_i7x16_s,
;; pmaddubsw on x86): a module of its own, so the portable kernels (kernels.wat) load on engines
;; without it. Only results the specification defines are used: the second operand's lanes are
;; always in 0..127 (Q4_0 nibbles, 0..15), where every implementation gives the same exact sums, so
;; gemv_q4_i8 returns gemv_q4's floats bit for bit. Loaded only after a check of its sums
;; (./relaxed.ts). Assembled into kernels-relaxed-wasm.ts by scripts/assemble-wasm.mjs.
(module
  (import "env" "mem" (memory 1 65536 shared))
  ;; written after each row's sum, read by nothing: it fixes the order, so the engine uses a row's
  ;; loads before it issues the next row's (as in kernels.wat)
  (global $order (mut v128) (v128.const i32x4 0 0 0 0))

  ;; Q4_0 x Q8: per group g (rows 4g..4g+3) and block b, 64 bytes at w + (g * nb + b) * 64: rows
  ;; 0..3 x 16 bytes in ggml's own order (byte j: column j in the low nibble, column 16 + j in the
  ;; high), scales f32 at s + (g * nb + b) * 16. xq: the activation block as 32 int8 in column order
  ;; (narrow_q8); xsum + 4b its sum, xs + 4b its scale. Nibbles are q + 8, so dot = sum(n x) - 8 xsum.
  ;; Per row: two int8 dot products (pairs of columns into 16 bits, at most 2 * 15 * 128 each),
  ;; their sum (at most 7680), widened to four 32-bit lanes; then the four rows are reduced together.
  (func (export "gemv_q4_i8") (param $w i32) (param $s i32) (param $xq i32) (param $xsum i32) (param $xs i32) (param $y i32) (param $g0 i32) (param $g1 i32) (param $cols i32)
    (local $g i32) (local $b i32) (local $nb i32) (local $p i32) (local $sp i32) (local $xp i32) (local $xsp i32) (local $xup i32)
    (local $acc v128) (local $xl v128) (local $xh v128) (local $v v128) (local $m v128)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128) (local $t0 v128) (local $t1 v128) (local $sum v128)
    (local.set $m (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
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
        (local.set $xl (v128.load (local.get $xp))) (local.set $xh (v128.load offset=16 (local.get $xp)))
        (local.set $v (v128.load offset=0 (local.get $p)))
        (local.set $d0 (i32x4.extadd_pairwise_i16x8_s (i16x8.add
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xl) (v128.and (local.get $v) (local.get $m)))
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xh) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)))))) (global.set $order (local.get $d0))
        (local.set $v (v128.load offset=16 (local.get $p)))
        (local.set $d1 (i32x4.extadd_pairwise_i16x8_s (i16x8.add
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xl) (v128.and (local.get $v) (local.get $m)))
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xh) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)))))) (global.set $order (local.get $d1))
        (local.set $v (v128.load offset=32 (local.get $p)))
        (local.set $d2 (i32x4.extadd_pairwise_i16x8_s (i16x8.add
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xl) (v128.and (local.get $v) (local.get $m)))
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xh) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)))))) (global.set $order (local.get $d2))
        (local.set $v (v128.load offset=48 (local.get $p)))
        (local.set $d3 (i32x4.extadd_pairwise_i16x8_s (i16x8.add
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xl) (v128.and (local.get $v) (local.get $m)))
          (i16x8.relaxed_dot_i8x16_i7x16_s (local.get $xh) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $m)))))) (global.set $order (local.get $d3))
        (local.set $t0 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $d0) (local.get $d1)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $d0) (local.get $d1))))
        (local.set $t1 (i32x4.add (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $d2) (local.get $d3)) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $d2) (local.get $d3))))
        (local.set $sum (i32x4.add (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))
        (local.set $sum (i32x4.sub (local.get $sum) (i32x4.shl (v128.load32_splat (local.get $xup)) (i32.const 3))))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (f32x4.convert_i32x4_s (local.get $sum))
          (f32x4.mul (v128.load (local.get $sp)) (v128.load32_splat (local.get $xsp))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $sp (i32.add (local.get $sp) (i32.const 16)))
        (local.set $xp (i32.add (local.get $xp) (i32.const 32)))
        (local.set $xsp (i32.add (local.get $xsp) (i32.const 4)))
        (local.set $xup (i32.add (local.get $xup) (i32.const 4)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bl)))
      (v128.store (i32.add (local.get $y) (i32.shl (local.get $g) (i32.const 4))) (local.get $acc))
      (local.set $g (i32.add (local.get $g) (i32.const 1)))
      (br $gl)))
  )

  ;; int8 copy of quant_q8's 16-bit blocks: dst[i] = src[i] for i < n (n % 16 == 0; values in
  ;; -127..127, so the saturating narrow is exact)
  (func (export "narrow_q8") (param $src i32) (param $n i32) (param $dst i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (v128.store (i32.add (local.get $dst) (local.get $i))
        (i8x16.narrow_i16x8_s (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))
                              (v128.load offset=16 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $l)))
  )
)
