// Gated scaled dot-product attention: forward dispatch and backward formula side by side
// (ops/attention.h has the math). The kernels (ops/cpu/attention.cpp, ops/cuda/attention.cu)
// share one contract: the forward returns the output and the log-sum-exp of each score row, the
// backward gets both back and recomputes the attention probabilities from them, so nothing of
// size Nq x Nk is kept between the passes.
#include "ops/attention.h"

#include "autograd/node.h"
#include "ops/autocast.h"
#include "ops/cpu/attention.h"
#include "ops/dispatch.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#if WSOL_CUDA
#include "ops/cuda/attention.h"
#endif

namespace wsol {

namespace {

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate) {
    WSOL_CHECK(q.defined() && k.defined() && v.defined(), "attention: q, k and v must be defined");
    WSOL_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: q, k, v must be (B, H, N, D), got ",
               shape_str(q.shape()), ", ", shape_str(k.shape()), ", ", shape_str(v.shape()));
    const int64_t B = q.size(0), H = q.size(1), D = q.size(3), Nk = k.size(2);
    WSOL_CHECK(k.size(0) == B && k.size(1) == H && k.size(3) == D && v.shape() == k.shape(), "attention: q ",
               shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
               ": expected q (B, H, Nq, D) and k, v (B, H, Nk, D)");
    WSOL_CHECK(Nk > 0, "attention: no keys (k is ", shape_str(k.shape()), ")");
    check_floating("attention", q);
    check_same_dtype("attention", q, k);
    check_same_dtype("attention", q, v);
    if (gate.defined()) {
        WSOL_CHECK(gate.shape() == Shape({B, Nk}), "attention: key_gate must be (B, Nk) = (", B, ", ", Nk, "), got ",
                   shape_str(gate.shape()));
        check_same_dtype("attention", q, gate);
    }
}

// The dtype of the saved log-sum-exp and of the per-head gate gradients.
DType stats_dtype(const Tensor& q) { return q.dtype() == kFloat64 ? kFloat64 : kFloat32; }

}  // namespace

Tensor attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, double scale, const Tensor& gate_in) {
    // Under bf16 autocast, float32 CUDA inputs run in bfloat16 (differentiable casts).
    const Tensor q = autocast_lower(q_in), k = autocast_lower(k_in), v = autocast_lower(v_in);
    const Tensor gate = autocast_lower(gate_in);
    check_inputs(q, k, v, gate);
    const DeviceType backend = backend_of("attention", {q, k, v, gate});
    const int64_t B = q.size(0), H = q.size(1), Nq = q.size(2), D = q.size(3);

    // x: (B, H, Nq, D) -> out: (B, H, Nq, D); lse: (B, H, Nq)
    Tensor out = Tensor::empty({B, H, Nq, D}, q.dtype(), q.device());
    Tensor lse = Tensor::empty({B, H, Nq}, stats_dtype(q), q.device());
    // The CPU kernels read plain rows; the CUDA kernels take any strides.
    auto prepare = [backend](const Tensor& t) {
        if (!t.defined()) return t;
        return backend == DeviceType::CPU ? contiguous(t.detach()) : t.detach();
    };
    const Tensor qd = prepare(q), kd = prepare(k), vd = prepare(v), gd = prepare(gate);
    if (out.numel() > 0) {
        switch (backend) {
            case DeviceType::CPU: cpu::attention_forward(out, lse, qd, kd, vd, gd, scale); break;
            case DeviceType::CUDA: WSOL_CUDA_ONLY(cuda::attention_forward(out, lse, qd, kd, vd, gd, scale)); break;
        }
    }
    if (any_requires_grad({q, k, v, gate})) {
        record_op("attention", {q, k, v, gate}, {out},
                  [qd, kd, vd, gd, o = out.detach(), lse, scale, backend](const TensorList& g, const GradMask& need) {
                      auto fresh = [](const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); };
                      Tensor dq = fresh(qd), dk = fresh(kd), dv = fresh(vd);
                      Tensor dgate_heads;
                      if (gd.defined() && need[3]) {
                          dgate_heads = Tensor::empty({kd.size(0), kd.size(1), kd.size(2)}, lse.dtype(), kd.device());
                      }
                      const Tensor dout = backend == DeviceType::CPU ? contiguous(g[0]) : g[0];
                      if (o.numel() > 0) {
                          switch (backend) {
                              case DeviceType::CPU:
                                  cpu::attention_backward(dq, dk, dv, dgate_heads, dout, qd, kd, vd, gd, o, lse, scale);
                                  break;
                              case DeviceType::CUDA:
                                  WSOL_CUDA_ONLY(cuda::attention_backward(dq, dk, dv, dgate_heads, dout, qd, kd, vd, gd,
                                                                          o, lse, scale));
                                  break;
                          }
                      } else {  // no queries: nothing flows back
                          for (const Tensor& t : {dq, dk, dv, dgate_heads}) {
                              if (t.defined()) copy_into(t, Tensor::zeros({}, t.dtype(), t.device()));
                          }
                      }
                      // dgate[b, j] = sum over heads of the per-head sums (B, H, Nk) -> (B, Nk)
                      Tensor dgate;
                      if (dgate_heads.defined()) dgate = to(sum(dgate_heads, {1}), gd.dtype());
                      return TensorList{need[0] ? dq : Tensor(), need[1] ? dk : Tensor(), need[2] ? dv : Tensor(),
                                        dgate};
                  });
    }
    return out;
}

}  // namespace wsol
