// Standalone test of the CUDA windowed attention kernels (no LibTorch, no Catch2, so it builds
// wherever nvcc and the CUDA runtime are). Three parts:
//   1. tile ranges (host only): the tiles the kernels visit are exactly those holding visible
//      (query, key) pairs of window.h's convention, so the work is O(T·w);
//   2. argument checks (host only): every bad field gets its own one-line error;
//   3. on a GPU: forward (o, y, lse) and backward (dq, dk, dv, dgate) against a naive fp64
//      reference on random inputs, for several T (not multiples of the tile), windows, GQA
//      ratios, head dims, dtypes and layouts. Rule (flash-attention's): the kernel's max error
//      against the fp64 reference is at most 2× the max error of the same reference computed
//      in the kernel's dtype, plus a floor of 1e-5 × max|reference| that only matters for fp32.
// Exit code: 0 pass, 1 failure, 77 (CTest "skipped") when parts 1-2 pass and the machine has no
// GPU (nvidia_driver.h's rule; any other CUDA error is a failure).
// Usage: test_cuda_windowed_attention [--seed N]
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "attnlab/kernels/window.h"
#include "naive_windowed_attention.h"
#include "nvidia_driver.h"
#include "windowed_attention.cuh"
#include "windowed_attention_tiles.cuh"

namespace {

using attnlab::kernels::cuda::StridedTensor;
using attnlab::kernels::cuda::TileRange;
using attnlab::kernels::cuda::WindowedAttentionDtype;
using attnlab::kernels::cuda::WindowedAttentionParams;

#define CUDA_CHECK(call)                                                                     \
  do {                                                                                       \
    const cudaError_t err_ = (call);                                                         \
    if (err_ != cudaSuccess) {                                                               \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n---> HINT: is the GPU visible and free?\n", \
                   __FILE__, __LINE__, #call, cudaGetErrorString(err_));                     \
      std::exit(1);                                                                          \
    }                                                                                        \
  } while (0)

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

// ---- 1. Tile ranges against window.h, by brute force. ----

void check_tile_ranges() {
  using attnlab::kernels::key_visible;
  for (int64_t w : {-1, 0, 1, 5, 31, 32, 33, 64, 100}) {
    for (int64_t i = 0; i < 80; ++i)
      for (int64_t j = 0; j < 80; ++j)
        expect(attnlab::kernels::cuda::window_visible(i, j, w) == key_visible(i, j, w),
               "window_visible(" + std::to_string(i) + ", " + std::to_string(j) + ", " +
                   std::to_string(w) + ") disagrees with window.h");
    for (int64_t T : {1, 31, 32, 33, 64, 65, 130}) {
      for (int64_t tile : {32, 64}) {
        const int64_t n_tiles = (T + tile - 1) / tile;
        // A pair of tiles [a0, a1) x [b0, b1) holds a visible (query, key) pair?
        const auto any_visible = [&](int64_t qt, int64_t kt) {
          for (int64_t i = qt * tile; i < std::min(T, (qt + 1) * tile); ++i)
            for (int64_t j = kt * tile; j < std::min(T, (kt + 1) * tile); ++j)
              if (key_visible(i, j, w)) return true;
          return false;
        };
        const std::string at = " (T " + std::to_string(T) + ", w " + std::to_string(w) +
                               ", tile " + std::to_string(tile) + ")";
        for (int64_t a = 0; a < n_tiles; ++a) {
          const int64_t lo = a * tile, hi = std::min(T, lo + tile);
          const TileRange keys = attnlab::kernels::cuda::key_tiles_for_queries(lo, hi, w, tile);
          const TileRange queries =
              attnlab::kernels::cuda::query_tiles_for_keys(lo, hi, T, w, tile);
          for (int64_t bt = 0; bt < n_tiles; ++bt) {
            const bool in_keys = bt >= keys.begin && bt < keys.end;
            const bool in_queries = bt >= queries.begin && bt < queries.end;
            expect(in_keys == any_visible(a, bt), "key tile " + std::to_string(bt) +
                                                      " for query tile " + std::to_string(a) + at);
            expect(in_queries == any_visible(bt, a), "query tile " + std::to_string(bt) +
                                                         " for key tile " + std::to_string(a) + at);
          }
        }
      }
    }
  }
}

// ---- 2. Argument checks (no CUDA call happens before them). ----

WindowedAttentionParams fake_params() {
  WindowedAttentionParams p;
  void* fake = reinterpret_cast<void*>(0x1000);
  for (StridedTensor* t : {&p.q, &p.k, &p.v, &p.o, &p.y, &p.dy, &p.dq, &p.dk, &p.dv, &p.dgate})
    *t = {fake, 4 * 16 * 64, 16 * 64, 64};
  p.lse = p.delta = reinterpret_cast<float*>(fake);
  p.B = 1, p.H = 4, p.K = 2, p.T = 16, p.D = 64, p.window = 8, p.scale = 0.125f;
  return p;
}

void expect_error(const char* what, void (*mutate)(WindowedAttentionParams&), const char* needle) {
  WindowedAttentionParams p = fake_params();
  mutate(p);
  for (bool forward : {true, false}) {
    const std::string err = forward ? launch_windowed_attention_fwd(p, nullptr)
                                    : launch_windowed_attention_bwd(p, nullptr);
    const std::string prefix =
        forward ? "launch_windowed_attention_fwd: " : "launch_windowed_attention_bwd: ";
    expect(err.rfind(prefix, 0) == 0 && err.find(needle) != std::string::npos,
           std::string(what) + ": expected an error containing '" + needle + "', got '" + err +
               "'");
  }
}

void check_argument_errors() {
  expect_error("head dim 96", [](WindowedAttentionParams& p) { p.D = 96; }, "head_dim D = 96");
  expect_error("H not a multiple of K", [](WindowedAttentionParams& p) { p.H = 6, p.K = 4; },
               "H = 6 must be a positive multiple of kv heads K = 4");
  expect_error("K = 0", [](WindowedAttentionParams& p) { p.K = 0; }, "kv heads K = 0");
  expect_error("window -2", [](WindowedAttentionParams& p) { p.window = -2; }, "got -2");
  expect_error("scale 0", [](WindowedAttentionParams& p) { p.scale = 0.0f; }, "scale must be");
  expect_error("scale NaN", [](WindowedAttentionParams& p) { p.scale = NAN; }, "scale must be");
  expect_error("negative T", [](WindowedAttentionParams& p) { p.T = -1; }, "T = -1");
  expect_error("bad dtype",
               [](WindowedAttentionParams& p) { p.dtype = static_cast<WindowedAttentionDtype>(7); },
               "dtype 7");
  expect_error("null q", [](WindowedAttentionParams& p) { p.q.data = nullptr; }, "q.data is null");
  expect_error("null lse", [](WindowedAttentionParams& p) { p.lse = nullptr; }, "lse is null");
  expect_error("negative stride", [](WindowedAttentionParams& p) { p.k.seq_stride = -64; },
               "k has a negative stride");
  // Forward-only and backward-only fields (never launch with the fake pointers).
  WindowedAttentionParams p = fake_params();
  p.gate = p.q, p.y.data = nullptr;
  expect(launch_windowed_attention_fwd(p, nullptr).find("y (the gated") != std::string::npos,
         "a gate without y must be reported by the forward");
  p = fake_params();
  p.delta = nullptr;
  expect(launch_windowed_attention_bwd(p, nullptr).find("delta is null") != std::string::npos,
         "null delta must be reported by the backward");
  p = fake_params();
  p.gate = p.q, p.dgate.data = nullptr;
  expect(launch_windowed_attention_bwd(p, nullptr).find("dgate") != std::string::npos,
         "a gate without dgate must be reported by the backward");
  p = fake_params();
  p.dk.data = nullptr;
  expect(launch_windowed_attention_bwd(p, nullptr).find("dk.data is null") != std::string::npos,
         "null dk must be reported by the backward");
}

// ---- 3. GPU against the naive reference. ----

const char* dtype_name(WindowedAttentionDtype t) {
  switch (t) {
    case WindowedAttentionDtype::kFloat32: return "fp32";
    case WindowedAttentionDtype::kFloat16: return "fp16";
    case WindowedAttentionDtype::kBFloat16: return "bf16";
  }
  return "?";
}

size_t dtype_bytes(WindowedAttentionDtype t) {
  return t == WindowedAttentionDtype::kFloat32 ? 4 : 2;
}

// Host values <-> device element bytes, via CUDA's own host conversions.
void encode(WindowedAttentionDtype t, double x, unsigned char* dst) {
  const float f = static_cast<float>(x);
  if (t == WindowedAttentionDtype::kFloat32) {
    std::memcpy(dst, &f, 4);
  } else if (t == WindowedAttentionDtype::kFloat16) {
    const __half h = __float2half_rn(f);
    std::memcpy(dst, &h, 2);
  } else {
    const __nv_bfloat16 h = __float2bfloat16_rn(f);
    std::memcpy(dst, &h, 2);
  }
}

double decode(WindowedAttentionDtype t, const unsigned char* src) {
  if (t == WindowedAttentionDtype::kFloat32) {
    float f;
    std::memcpy(&f, src, 4);
    return f;
  }
  if (t == WindowedAttentionDtype::kFloat16) {
    __half h;
    std::memcpy(&h, src, 2);
    return __half2float(h);
  }
  __nv_bfloat16 h;
  std::memcpy(&h, src, 2);
  return __bfloat162float(h);
}

double round_to(WindowedAttentionDtype t, double x) {
  unsigned char bytes[4];
  encode(t, x, bytes);
  return decode(t, bytes);
}

// A [B, heads, T, D] tensor (or [B, T, H] gate with D = 1) on the device, laid out either
// [B, heads, T, D] or [B, T, heads, D]; filled with NaN bytes so unwritten outputs show.
struct DeviceTensor {
  int64_t B, heads, T, D;
  bool seq_major;  // [B, T, heads, D]
  WindowedAttentionDtype dtype;
  void* data = nullptr;

  DeviceTensor(int64_t b, int64_t h, int64_t t, int64_t d, bool sm, WindowedAttentionDtype dt)
      : B(b), heads(h), T(t), D(d), seq_major(sm), dtype(dt) {
    CUDA_CHECK(cudaMalloc(&data, bytes()));
    CUDA_CHECK(cudaMemset(data, 0xff, bytes()));
  }
  ~DeviceTensor() { cudaFree(data); }
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;

  size_t count() const { return static_cast<size_t>(B * heads * T * D); }
  size_t bytes() const { return count() * dtype_bytes(dtype); }
  StridedTensor view() const {
    return seq_major ? StridedTensor{data, T * heads * D, D, heads * D}
                     : StridedTensor{data, heads * T * D, T * D, D};
  }
  // Element offset of logical [b, h, t, d].
  size_t offset(int64_t b, int64_t h, int64_t t, int64_t d) const {
    const StridedTensor v = view();
    return static_cast<size_t>(b * v.batch_stride + h * v.head_stride + t * v.seq_stride + d);
  }
  // values in logical [B, heads, T, D] order.
  void upload(const std::vector<double>& values) const {
    std::vector<unsigned char> host(bytes());
    for_each([&](size_t logical, size_t off) {
      encode(dtype, values[logical], &host[off * dtype_bytes(dtype)]);
    });
    CUDA_CHECK(cudaMemcpy(data, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<double> download() const {
    std::vector<unsigned char> host(bytes());
    CUDA_CHECK(cudaMemcpy(host.data(), data, bytes(), cudaMemcpyDeviceToHost));
    std::vector<double> values(count());
    for_each([&](size_t logical, size_t off) {
      values[logical] = decode(dtype, &host[off * dtype_bytes(dtype)]);
    });
    return values;
  }
  template <class Fn>
  void for_each(Fn&& fn) const {
    size_t logical = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t d = 0; d < D; ++d) fn(logical++, offset(b, h, t, d));
  }
};

// The gate [B, T, H] viewed as a [B, H, T, 1] DeviceTensor in seq-major layout.
StridedTensor gate_view(const DeviceTensor& g) {
  const StridedTensor v = g.view();
  return {v.data, v.batch_stride, v.head_stride, v.seq_stride};
}

// logical [B, H, T] <-> the reference's [B, T, H] gate layout.
std::vector<double> gate_to_bht(const std::vector<double>& bth, int64_t B, int64_t T, int64_t H) {
  std::vector<double> bht(bth.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) bht[(b * H + h) * T + t] = bth[(b * T + t) * H + h];
  return bht;
}

std::vector<double> gate_to_bth(const std::vector<double>& bht, int64_t B, int64_t T, int64_t H) {
  std::vector<double> bth(bht.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) bth[(b * T + t) * H + h] = bht[(b * H + h) * T + t];
  return bth;
}

double max_abs(const std::vector<double>& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}

double max_error(const std::vector<double>& got, const std::vector<double>& ref) {
  double m = 0.0;
  for (size_t n = 0; n < ref.size(); ++n) {
    if (!std::isfinite(got[n])) return INFINITY;  // unwritten (NaN-filled) or overflowed
    m = std::max(m, std::fabs(got[n] - ref[n]));
  }
  return m;
}

struct Case {
  int64_t T, window, H, K;
  bool gated, seq_major;
};

void run_case(const Case& c, int64_t D, WindowedAttentionDtype dtype, std::mt19937_64& rng) {
  using attnlab::test::NaiveShape;
  const int64_t B = 2;
  const NaiveShape shape{B, c.H, c.K, c.T, D, c.window, 1.0 / std::sqrt(static_cast<double>(D))};
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.05, 1.0);
  const auto random = [&](size_t n, bool gate) {
    std::vector<double> x(n);
    for (double& e : x) e = round_to(dtype, gate ? uniform(rng) : normal(rng));
    return x;
  };
  attnlab::test::NaiveInputs in;
  in.q = random(B * c.H * c.T * D, false);
  in.k = random(B * c.K * c.T * D, false);
  in.v = random(B * c.K * c.T * D, false);
  in.dy = random(B * c.H * c.T * D, false);
  if (c.gated) in.gate = random(B * c.T * c.H, true);

  DeviceTensor q(B, c.H, c.T, D, c.seq_major, dtype), k(B, c.K, c.T, D, c.seq_major, dtype),
      v(B, c.K, c.T, D, c.seq_major, dtype), o(B, c.H, c.T, D, c.seq_major, dtype),
      y(B, c.H, c.T, D, c.seq_major, dtype), dy(B, c.H, c.T, D, c.seq_major, dtype),
      dq(B, c.H, c.T, D, c.seq_major, dtype), dk(B, c.K, c.T, D, c.seq_major, dtype),
      dv(B, c.K, c.T, D, c.seq_major, dtype), gate(B, c.H, c.T, 1, true, dtype),
      dgate(B, c.H, c.T, 1, true, dtype), lse(B, c.H, c.T, 1, false, WindowedAttentionDtype::kFloat32),
      delta(B, c.H, c.T, 1, false, WindowedAttentionDtype::kFloat32);
  q.upload(in.q);
  k.upload(in.k);
  v.upload(in.v);
  dy.upload(in.dy);
  if (c.gated) gate.upload(gate_to_bht(in.gate, B, c.T, c.H));

  WindowedAttentionParams p;
  p.q = q.view(), p.k = k.view(), p.v = v.view(), p.o = o.view(), p.y = y.view();
  p.dy = dy.view(), p.dq = dq.view(), p.dk = dk.view(), p.dv = dv.view();
  if (c.gated) p.gate = gate_view(gate), p.dgate = gate_view(dgate);
  p.lse = static_cast<float*>(lse.data), p.delta = static_cast<float*>(delta.data);
  p.B = B, p.H = c.H, p.K = c.K, p.T = c.T, p.D = D, p.window = c.window;
  p.scale = static_cast<float>(shape.scale), p.dtype = dtype;

  const std::string name = std::string(dtype_name(dtype)) + " D " + std::to_string(D) + " T " +
                           std::to_string(c.T) + " w " + std::to_string(c.window) + " H/K " +
                           std::to_string(c.H) + "/" + std::to_string(c.K) +
                           (c.gated ? " gated" : "") + (c.seq_major ? " [B,T,H,D]" : "");
  std::string err = launch_windowed_attention_fwd(p, nullptr);
  if (err.empty()) err = launch_windowed_attention_bwd(p, nullptr);
  if (err.empty()) err = cudaGetErrorString(cudaDeviceSynchronize());
  if (err != "no error") {
    expect(false, name + ": " + err);
    return;
  }

  const auto ref64 = attnlab::test::naive_windowed_attention(shape, in, [](double x) { return x; });
  const auto ref_low = attnlab::test::naive_windowed_attention(
      shape, in, [dtype](double x) { return round_to(dtype, x); });
  const auto compare = [&](const char* tensor, const std::vector<double>& got,
                           const std::vector<double>& exact, const std::vector<double>& low) {
    const double err_kernel = max_error(got, exact);
    const double err_low = max_error(low, exact);
    const double bound = 2.0 * err_low + 1e-5 * std::max(1.0, max_abs(exact));
    std::printf("  %-5s kernel err %.3e  %s-reference err %.3e  %s\n", tensor, err_kernel,
                dtype_name(dtype), err_low, err_kernel <= bound ? "ok" : "FAIL");
    expect(err_kernel <= bound, name + ": " + tensor + " error " + std::to_string(err_kernel) +
                                    " > bound " + std::to_string(bound));
  };
  std::printf("%s\n", name.c_str());
  compare("o", o.download(), ref64.o, ref_low.o);
  if (c.gated) compare("y", y.download(), ref64.y, ref_low.y);
  compare("dq", dq.download(), ref64.dq, ref_low.dq);
  compare("dk", dk.download(), ref64.dk, ref_low.dk);
  compare("dv", dv.download(), ref64.dv, ref_low.dv);
  if (c.gated)
    compare("dgate", gate_to_bth(dgate.download(), B, c.T, c.H), ref64.dgate, ref_low.dgate);
  // lse is fp32 from the same (rounded) inputs: close to the fp64 value whatever the dtype.
  const double lse_err = max_error(lse.download(), ref64.lse);
  expect(lse_err <= 1e-4 * std::max(1.0, max_abs(ref64.lse)),
         name + ": lse error " + std::to_string(lse_err));
}

// Whether cudaGetDeviceCount's answer means "no GPU on this machine" (nvidia_driver.h's rule).
bool no_gpu(cudaError_t err, int devices) {
  if (err == cudaSuccess) return devices == 0;
  if (err == cudaErrorNoDevice) return true;
  return err == cudaErrorInsufficientDriver && !attnlab::test::nvidia_driver_loaded();
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = std::random_device{}();
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
      seed = std::strtoull(argv[++a], nullptr, 10);
    } else {
      std::fprintf(stderr, "unknown argument '%s'; usage: %s [--seed N]\n", argv[a], argv[0]);
      return 2;
    }
  }
  check_tile_ranges();
  check_argument_errors();
  std::printf("tile ranges and argument checks: %s\n", failures ? "FAILED" : "ok");

  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (no_gpu(err, devices)) {
    std::printf("no CUDA device (%s): GPU comparisons skipped\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    return failures ? 1 : 77;
  }
  if (err != cudaSuccess) {
    std::printf("FAILED: cudaGetDeviceCount: %s (%s), not a missing GPU\n",
                cudaGetErrorName(err), cudaGetErrorString(err));
    return 1;
  }
  std::printf("seed %llu (rerun with --seed %llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const Case cases[] = {
      {1, -1, 2, 2, false, false},   {37, 0, 4, 4, true, false},    {100, 7, 4, 2, true, false},
      {130, 64, 6, 1, true, true},   {200, -1, 4, 2, false, true},  {257, 100, 2, 1, true, false},
      {300, 256, 4, 4, false, false},
  };
  for (int64_t D : {64, 128})
    for (WindowedAttentionDtype dtype :
         {WindowedAttentionDtype::kBFloat16, WindowedAttentionDtype::kFloat16,
          WindowedAttentionDtype::kFloat32})
      for (const Case& c : cases) run_case(c, D, dtype, rng);
  std::printf("%s (%d failure%s)\n", failures ? "FAILED" : "all passed", failures,
              failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
