// CPU attention kernels (ops/cpu/attention.h): for each (batch, head) pair, the score matrix is one
// OpenBLAS GEMM, the softmax and the gating are fused into one pass over its rows, and the output
// is a second GEMM. The backward recomputes the probabilities from the saved log-sum-exp (as the
// GPU kernels do) and needs four more GEMMs. The (b, h) pairs are spread over OpenMP threads, each
// with its own Nq x Nk buffers.
#include "ops/cpu/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/dispatch.h"

namespace wsol::cpu {

namespace {

// C (m x n) = alpha op(A) op(B) + beta C, row-major, with leading dimensions = row lengths.
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, const float* b, float beta, float* c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                ta ? m : k, b, tb ? k : n, beta, c, n);
}
void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, const double* b, double beta,
          double* c) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                ta ? m : k, b, tb ? k : n, beta, c, n);
}

struct Dims {
    int64_t B, H, Nq, Nk, D;
};

Dims dims_of(const Tensor& q, const Tensor& k) { return {q.size(0), q.size(1), q.size(2), k.size(2), q.size(3)}; }

template <class T>
void forward_typed(const Tensor& out, const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& gate, double scale) {
    const Dims d = dims_of(q, k);
    const T* Q = q.data<T>();
    const T* K = k.data<T>();
    const T* V = v.data<T>();
    const T* G = gate.defined() ? gate.data<T>() : nullptr;
    T* O = out.data<T>();
    T* L = lse.data<T>();
    const int nq = int(d.Nq), nk = int(d.Nk), hd = int(d.D);
#pragma omp parallel
    {
        std::vector<T> S(size_t(d.Nq * d.Nk));  // scores, then the gated probabilities A'
#pragma omp for schedule(dynamic)
        for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
            const int64_t b = bh / d.H;
            const T* q_bh = Q + bh * d.Nq * d.D;
            const T* k_bh = K + bh * d.Nk * d.D;
            const T* v_bh = V + bh * d.Nk * d.D;
            const T* g_b = G ? G + b * d.Nk : nullptr;
            // S = scale q k^T
            gemm(false, true, nq, nk, hd, T(scale), q_bh, k_bh, T(0), S.data());
            for (int64_t i = 0; i < d.Nq; ++i) {
                T* row = S.data() + i * d.Nk;
                const T m = *std::max_element(row, row + d.Nk);
                T sum = 0;
                for (int64_t j = 0; j < d.Nk; ++j) {
                    row[j] = std::exp(row[j] - m);
                    sum += row[j];
                }
                L[bh * d.Nq + i] = m + std::log(sum);
                const T inv = T(1) / sum;
                for (int64_t j = 0; j < d.Nk; ++j) row[j] *= g_b ? inv * g_b[j] : inv;  // A' = A * gate
            }
            // out = A' v
            gemm(false, false, nq, hd, nk, T(1), S.data(), v_bh, T(0), O + bh * d.Nq * d.D);
        }
    }
}

template <class T>
void backward_typed(const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dgate_heads, const Tensor& dout,
                    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate, const Tensor& lse,
                    double scale) {
    const Dims d = dims_of(q, k);
    const T* Q = q.data<T>();
    const T* K = k.data<T>();
    const T* V = v.data<T>();
    const T* dO = dout.data<T>();
    const T* G = gate.defined() ? gate.data<T>() : nullptr;
    const T* L = lse.data<T>();
    T* dQ = dq.data<T>();
    T* dK = dk.data<T>();
    T* dV = dv.data<T>();
    T* dG = dgate_heads.defined() ? dgate_heads.data<T>() : nullptr;
    const int nq = int(d.Nq), nk = int(d.Nk), hd = int(d.D);
#pragma omp parallel
    {
        std::vector<T> P(size_t(d.Nq * d.Nk)), Ag(size_t(d.Nq * d.Nk)), dA(size_t(d.Nq * d.Nk));
#pragma omp for schedule(dynamic)
        for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
            const int64_t b = bh / d.H;
            const T* q_bh = Q + bh * d.Nq * d.D;
            const T* k_bh = K + bh * d.Nk * d.D;
            const T* v_bh = V + bh * d.Nk * d.D;
            const T* do_bh = dO + bh * d.Nq * d.D;
            const T* g_b = G ? G + b * d.Nk : nullptr;
            // P = exp(scale q k^T - lse): the softmax, recomputed; A' = P * gate.
            gemm(false, true, nq, nk, hd, T(scale), q_bh, k_bh, T(0), P.data());
            for (int64_t i = 0; i < d.Nq; ++i) {
                const T l = L[bh * d.Nq + i];
                for (int64_t j = 0; j < d.Nk; ++j) {
                    T& p = P[size_t(i * d.Nk + j)];
                    p = std::exp(p - l);
                    Ag[size_t(i * d.Nk + j)] = g_b ? p * g_b[j] : p;
                }
            }
            // dv = A'^T dout;  dA' = dout v^T
            gemm(true, false, nk, hd, nq, T(1), Ag.data(), do_bh, T(0), dV + bh * d.Nk * d.D);
            gemm(false, true, nq, nk, hd, T(1), do_bh, v_bh, T(0), dA.data());
            // dgate (this head) = column sums of P * dA'
            if (dG) {
                T* dg = dG + bh * d.Nk;
                std::fill(dg, dg + d.Nk, T(0));
                for (int64_t i = 0; i < d.Nq; ++i) {
                    for (int64_t j = 0; j < d.Nk; ++j) dg[j] += P[size_t(i * d.Nk + j)] * dA[size_t(i * d.Nk + j)];
                }
            }
            // dS = P (dP - rowsum(P dP)) with dP = dA' * gate, written over dA'.
            for (int64_t i = 0; i < d.Nq; ++i) {
                T* da = dA.data() + i * d.Nk;
                const T* p = P.data() + i * d.Nk;
                T delta = 0;
                for (int64_t j = 0; j < d.Nk; ++j) {
                    if (g_b) da[j] *= g_b[j];
                    delta += p[j] * da[j];
                }
                for (int64_t j = 0; j < d.Nk; ++j) da[j] = p[j] * (da[j] - delta);
            }
            // dq = scale dS k;  dk = scale dS^T q
            gemm(false, false, nq, hd, nk, T(scale), dA.data(), k_bh, T(0), dQ + bh * d.Nq * d.D);
            gemm(true, false, nk, hd, nq, T(scale), dA.data(), q_bh, T(0), dK + bh * d.Nk * d.D);
        }
    }
}

template <class F>
void dispatch_attention(DType dtype, F&& f) {
    switch (dtype) {
        case kFloat32: return f(TypeTag<float>{});
        case kFloat64: return f(TypeTag<double>{});
        default: break;
    }
    WSOL_FAIL("attention on the CPU: dtype ", dtype_name(dtype), " is not supported (float32, float64 are)");
}

void check_int_sizes(const Tensor& q, const Tensor& k) {
    for (int64_t s : {q.size(2), k.size(2), q.size(3)}) {
        WSOL_CHECK(s < std::numeric_limits<int>::max(), "attention on the CPU: size ", s, " too large for BLAS");
    }
}

}  // namespace

void attention_forward(const Tensor& out, const Tensor& lse, const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& gate, double scale) {
    check_int_sizes(q, k);
    dispatch_attention(q.dtype(), [&](auto tag) {
        forward_typed<typename decltype(tag)::type>(out, lse, q, k, v, gate, scale);
    });
}

void attention_backward(const Tensor& dq, const Tensor& dk, const Tensor& dv, const Tensor& dgate_heads,
                        const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& gate,
                        const Tensor& out, const Tensor& lse, double scale) {
    (void)out;  // the CPU forms rowsum(A' dA') from the recomputed rows, which needs no output
    check_int_sizes(q, k);
    dispatch_attention(q.dtype(), [&](auto tag) {
        backward_typed<typename decltype(tag)::type>(dq, dk, dv, dgate_heads, dout, q, k, v, gate, lse, scale);
    });
}

}  // namespace wsol::cpu
