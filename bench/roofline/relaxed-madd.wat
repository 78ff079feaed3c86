;; WASM roofline kernel, relaxed SIMD: f32x4.relaxed_madd (a fused multiply-add where the CPU has one).
;;
;; The kernel keeps 12 independent f32x4 accumulators in registers and runs acc = acc * m + c on each of them,
;; twice per loop trip, with no memory traffic in the loop: its speed is the core's SIMD128 multiply-add
;; throughput. 12 chains because each chain waits for its own previous step: mul + add latency is 6 cycles on
;; cores with 2 multiply and 2 add pipes (AMD Zen 3, recent Intel), so 12 chains keep all four pipes busy; an FMA
;; (latency 4, 2 pipes) needs 8. 12 accumulators + 2 constants fit the 16 xmm registers of x86-64, so the
;; compiler need not spill. Every step depends on the previous one and the accumulators are stored at the end, so
;; no compiler can drop or shorten the loop; the page checks the stored values against JavaScript.
;;
;; Memory bytes 0..191 hold the 12 accumulators (4 lanes each): read as the start values, written back as the
;; result. 2 rounds * 12 accumulators * 4 lanes * 2 = 192 FLOPs per loop trip (a multiply-add counts as 2).
;; Assembled at bench time by scripts/node/bench/roofline.mjs (wabt); run by bench/roofline.worker.ts.
;; An engine may also run relaxed_madd as mul + add; `madd_once` lets the page tell which one it got.
(module
  (memory (export "memory") 1)
  ;; acc = relaxed_madd(acc, m, c).
  (func (export "kernel") (param $trips i32) (param $mul f32) (param $add f32)
    (local $m v128) (local $c v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128)
    (local $a6 v128) (local $a7 v128) (local $a8 v128) (local $a9 v128) (local $a10 v128) (local $a11 v128)
    (local.set $m (f32x4.splat (local.get $mul)))
    (local.set $c (f32x4.splat (local.get $add)))
    (local.set $a0 (v128.load offset=0 (i32.const 0)))
    (local.set $a1 (v128.load offset=16 (i32.const 0)))
    (local.set $a2 (v128.load offset=32 (i32.const 0)))
    (local.set $a3 (v128.load offset=48 (i32.const 0)))
    (local.set $a4 (v128.load offset=64 (i32.const 0)))
    (local.set $a5 (v128.load offset=80 (i32.const 0)))
    (local.set $a6 (v128.load offset=96 (i32.const 0)))
    (local.set $a7 (v128.load offset=112 (i32.const 0)))
    (local.set $a8 (v128.load offset=128 (i32.const 0)))
    (local.set $a9 (v128.load offset=144 (i32.const 0)))
    (local.set $a10 (v128.load offset=160 (i32.const 0)))
    (local.set $a11 (v128.load offset=176 (i32.const 0)))
    (block $done
      (br_if $done (i32.le_s (local.get $trips) (i32.const 0)))
      (loop $next
        ;; two rounds per trip: the loop counter costs half as much per multiply-add
        (local.set $a0 (f32x4.relaxed_madd (local.get $a0) (local.get $m) (local.get $c)))
        (local.set $a1 (f32x4.relaxed_madd (local.get $a1) (local.get $m) (local.get $c)))
        (local.set $a2 (f32x4.relaxed_madd (local.get $a2) (local.get $m) (local.get $c)))
        (local.set $a3 (f32x4.relaxed_madd (local.get $a3) (local.get $m) (local.get $c)))
        (local.set $a4 (f32x4.relaxed_madd (local.get $a4) (local.get $m) (local.get $c)))
        (local.set $a5 (f32x4.relaxed_madd (local.get $a5) (local.get $m) (local.get $c)))
        (local.set $a6 (f32x4.relaxed_madd (local.get $a6) (local.get $m) (local.get $c)))
        (local.set $a7 (f32x4.relaxed_madd (local.get $a7) (local.get $m) (local.get $c)))
        (local.set $a8 (f32x4.relaxed_madd (local.get $a8) (local.get $m) (local.get $c)))
        (local.set $a9 (f32x4.relaxed_madd (local.get $a9) (local.get $m) (local.get $c)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $a10) (local.get $m) (local.get $c)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $a11) (local.get $m) (local.get $c)))
        (local.set $a0 (f32x4.relaxed_madd (local.get $a0) (local.get $m) (local.get $c)))
        (local.set $a1 (f32x4.relaxed_madd (local.get $a1) (local.get $m) (local.get $c)))
        (local.set $a2 (f32x4.relaxed_madd (local.get $a2) (local.get $m) (local.get $c)))
        (local.set $a3 (f32x4.relaxed_madd (local.get $a3) (local.get $m) (local.get $c)))
        (local.set $a4 (f32x4.relaxed_madd (local.get $a4) (local.get $m) (local.get $c)))
        (local.set $a5 (f32x4.relaxed_madd (local.get $a5) (local.get $m) (local.get $c)))
        (local.set $a6 (f32x4.relaxed_madd (local.get $a6) (local.get $m) (local.get $c)))
        (local.set $a7 (f32x4.relaxed_madd (local.get $a7) (local.get $m) (local.get $c)))
        (local.set $a8 (f32x4.relaxed_madd (local.get $a8) (local.get $m) (local.get $c)))
        (local.set $a9 (f32x4.relaxed_madd (local.get $a9) (local.get $m) (local.get $c)))
        (local.set $a10 (f32x4.relaxed_madd (local.get $a10) (local.get $m) (local.get $c)))
        (local.set $a11 (f32x4.relaxed_madd (local.get $a11) (local.get $m) (local.get $c)))
        (local.set $trips (i32.sub (local.get $trips) (i32.const 1)))
        (br_if $next (i32.gt_s (local.get $trips) (i32.const 0)))))
    (v128.store offset=0 (i32.const 0) (local.get $a0))
    (v128.store offset=16 (i32.const 0) (local.get $a1))
    (v128.store offset=32 (i32.const 0) (local.get $a2))
    (v128.store offset=48 (i32.const 0) (local.get $a3))
    (v128.store offset=64 (i32.const 0) (local.get $a4))
    (v128.store offset=80 (i32.const 0) (local.get $a5))
    (v128.store offset=96 (i32.const 0) (local.get $a6))
    (v128.store offset=112 (i32.const 0) (local.get $a7))
    (v128.store offset=128 (i32.const 0) (local.get $a8))
    (v128.store offset=144 (i32.const 0) (local.get $a9))
    (v128.store offset=160 (i32.const 0) (local.get $a10))
    (v128.store offset=176 (i32.const 0) (local.get $a11)))
  ;; relaxed_madd(x, y, z) in lane 0: one rounding if fused, two if not.
  (func (export "madd_once") (param $x f32) (param $y f32) (param $z f32) (result f32)
    (f32x4.extract_lane 0
      (f32x4.relaxed_madd (f32x4.splat (local.get $x)) (f32x4.splat (local.get $y)) (f32x4.splat (local.get $z))))))
